// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class Participant : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public Participant() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string sessionId = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string userId = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string name = default(string);

		[global::Colyseus.Schema.Type(3, "string")]
		public string role = default(string);

		[global::Colyseus.Schema.Type(4, "boolean")]
		public bool connected = true;

		[global::Colyseus.Schema.Type(5, "uint8")]
		public byte slot = default(byte);

		[global::Colyseus.Schema.Type(6, "boolean")]
		public bool voiceConnected = false;

		[global::Colyseus.Schema.Type(7, "boolean")]
		public bool publishing = false;

		[global::Colyseus.Schema.Type(8, "boolean")]
		public bool muted = false;

		[global::Colyseus.Schema.Type(9, "boolean")]
		public bool pointing = false;

		[global::Colyseus.Schema.Type(10, "ref", typeof(QPose))]
		public QPose pointer = null;

		[global::Colyseus.Schema.Type(11, "uint16")]
		public ushort rttMs = 0;

		[global::Colyseus.Schema.Type(12, "boolean")]
		public bool linkOk = true;

		[global::Colyseus.Schema.Type(13, "boolean")]
		public bool handRaised = false;

		[global::Colyseus.Schema.Type(14, "boolean")]
		public bool avatar = true;
	}
}
