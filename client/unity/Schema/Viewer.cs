// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class Viewer : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public Viewer() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string series = "";

		[global::Colyseus.Schema.Type(1, "uint16")]
		public ushort slice = 0;

		[global::Colyseus.Schema.Type(2, "float32")]
		public double center = 40;

		[global::Colyseus.Schema.Type(3, "float32")]
		public double width = 400;

		[global::Colyseus.Schema.Type(4, "float32")]
		public double zoom = 1;

		[global::Colyseus.Schema.Type(5, "float32")]
		public double panX = 0;

		[global::Colyseus.Schema.Type(6, "float32")]
		public double panY = 0;

		[global::Colyseus.Schema.Type(7, "string")]
		public string by = "";

		[global::Colyseus.Schema.Type(8, "uint32")]
		public uint seq = 0;

		[global::Colyseus.Schema.Type(9, "string")]
		public string mode3d = "planes";

		[global::Colyseus.Schema.Type(10, "string")]
		public string pinBy = "";

		[global::Colyseus.Schema.Type(11, "float32")]
		public double pinPx = 0;

		[global::Colyseus.Schema.Type(12, "float32")]
		public double pinPy = 0;

		[global::Colyseus.Schema.Type(13, "float32")]
		public double pinPz = 0;

		[global::Colyseus.Schema.Type(14, "float32")]
		public double pinQx = 0;

		[global::Colyseus.Schema.Type(15, "float32")]
		public double pinQy = 0;

		[global::Colyseus.Schema.Type(16, "float32")]
		public double pinQz = 0;

		[global::Colyseus.Schema.Type(17, "float32")]
		public double pinQw = 1;
	}
}
