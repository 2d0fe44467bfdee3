// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class CaseEntry : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public CaseEntry() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string key = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string resourceType = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string variant = default(string);

		[global::Colyseus.Schema.Type(3, "string")]
		public string json = default(string);

		[global::Colyseus.Schema.Type(4, "string")]
		public string objects = default(string);

		[global::Colyseus.Schema.Type(5, "uint32")]
		public uint ofType = default(uint);

		[global::Colyseus.Schema.Type(6, "uint32")]
		public uint order = default(uint);
	}
}
