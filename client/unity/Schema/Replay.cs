// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class Replay : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public Replay() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string recordingId = "";

		[global::Colyseus.Schema.Type(1, "string")]
		public string status = "";

		[global::Colyseus.Schema.Type(2, "float64")]
		public double positionMs = 0;

		[global::Colyseus.Schema.Type(3, "float64")]
		public double at = 0;

		[global::Colyseus.Schema.Type(4, "float32")]
		public double speed = 1;

		[global::Colyseus.Schema.Type(5, "float64")]
		public double durationMs = 0;

		[global::Colyseus.Schema.Type(6, "string")]
		public string audio = "none";

		[global::Colyseus.Schema.Type(7, "string")]
		public string presenter = "";

		[global::Colyseus.Schema.Type(8, "map", typeof(global::Colyseus.Schema.MapSchema<GhostState>))]
		public global::Colyseus.Schema.MapSchema<GhostState> ghosts = new global::Colyseus.Schema.MapSchema<GhostState>();
	}
}
