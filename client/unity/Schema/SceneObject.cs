// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class SceneObject : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public SceneObject() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string id = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string kind = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string asset = default(string);

		[global::Colyseus.Schema.Type(3, "string")]
		public string label = default(string);

		[global::Colyseus.Schema.Type(4, "string")]
		public string createdBy = default(string);

		[global::Colyseus.Schema.Type(5, "float32")]
		public double px = default(double);

		[global::Colyseus.Schema.Type(6, "float32")]
		public double py = default(double);

		[global::Colyseus.Schema.Type(7, "float32")]
		public double pz = default(double);

		[global::Colyseus.Schema.Type(8, "float32")]
		public double qx = default(double);

		[global::Colyseus.Schema.Type(9, "float32")]
		public double qy = default(double);

		[global::Colyseus.Schema.Type(10, "float32")]
		public double qz = default(double);

		[global::Colyseus.Schema.Type(11, "float32")]
		public double qw = 1;

		[global::Colyseus.Schema.Type(12, "float32")]
		public double sx = 1;

		[global::Colyseus.Schema.Type(13, "float32")]
		public double sy = 1;

		[global::Colyseus.Schema.Type(14, "float32")]
		public double sz = 1;

		[global::Colyseus.Schema.Type(15, "string")]
		public string grabbedBy = default(string);

		[global::Colyseus.Schema.Type(16, "string")]
		public string points = default(string);

		[global::Colyseus.Schema.Type(17, "string")]
		public string color = default(string);

		[global::Colyseus.Schema.Type(18, "string")]
		public string frame = "world";

		[global::Colyseus.Schema.Type(19, "float64")]
		public double sentAt = 0;

		[global::Colyseus.Schema.Type(20, "float64")]
		public double videoTime = 0;

		[global::Colyseus.Schema.Type(21, "float64")]
		public double ackedAt = 0;

		[global::Colyseus.Schema.Type(22, "string")]
		public string ackedBy = "";

		[global::Colyseus.Schema.Type(23, "boolean")]
		public bool dismissed = false;

		[global::Colyseus.Schema.Type(24, "boolean")]
		public bool focused = false;

		[global::Colyseus.Schema.Type(25, "string")]
		public string slice = "";

		[global::Colyseus.Schema.Type(26, "boolean")]
		public bool hasText = false;
	}
}
