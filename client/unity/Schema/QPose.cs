// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class QPose : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public QPose() { }

		[global::Colyseus.Schema.Type(0, "int16")]
		public short px = 0;

		[global::Colyseus.Schema.Type(1, "int16")]
		public short py = 0;

		[global::Colyseus.Schema.Type(2, "int16")]
		public short pz = 0;

		[global::Colyseus.Schema.Type(3, "int16")]
		public short qx = 0;

		[global::Colyseus.Schema.Type(4, "int16")]
		public short qy = 0;

		[global::Colyseus.Schema.Type(5, "int16")]
		public short qz = 0;

		[global::Colyseus.Schema.Type(6, "int16")]
		public short qw = 32767;
	}
}
