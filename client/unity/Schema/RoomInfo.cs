// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class RoomInfo : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public RoomInfo() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string roomId = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string title = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string kind = default(string);

		[global::Colyseus.Schema.Type(3, "string")]
		public string caseId = default(string);

		[global::Colyseus.Schema.Type(4, "string")]
		public string presenter = "";

		[global::Colyseus.Schema.Type(5, "string")]
		public string voice = "off";

		[global::Colyseus.Schema.Type(6, "uint8")]
		public byte protocolVersion = default(byte);

		[global::Colyseus.Schema.Type(7, "uint8")]
		public byte patchHz = 30;

		[global::Colyseus.Schema.Type(8, "string")]
		public string linkWarning = "";

		[global::Colyseus.Schema.Type(9, "boolean")]
		public bool recordingAllowed = false;

		[global::Colyseus.Schema.Type(10, "string")]
		public string recording = "";
	}
}
