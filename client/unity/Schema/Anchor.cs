// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class Anchor : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public Anchor() { }

		[global::Colyseus.Schema.Type(0, "uint32")]
		public uint version = 0;

		[global::Colyseus.Schema.Type(1, "float32")]
		public double px = 0;

		[global::Colyseus.Schema.Type(2, "float32")]
		public double py = 0;

		[global::Colyseus.Schema.Type(3, "float32")]
		public double pz = 0;

		[global::Colyseus.Schema.Type(4, "float32")]
		public double qx = 0;

		[global::Colyseus.Schema.Type(5, "float32")]
		public double qy = 0;

		[global::Colyseus.Schema.Type(6, "float32")]
		public double qz = 0;

		[global::Colyseus.Schema.Type(7, "float32")]
		public double qw = 1;

		[global::Colyseus.Schema.Type(8, "string")]
		public string setBy = "";

		[global::Colyseus.Schema.Type(9, "float64")]
		public double setAt = 0;
	}
}
