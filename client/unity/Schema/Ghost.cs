// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class Ghost : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public Ghost() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string userId = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string name = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string role = default(string);

		[global::Colyseus.Schema.Type(3, "boolean")]
		public bool pointing = false;

		[global::Colyseus.Schema.Type(4, "ref", typeof(QPose))]
		public QPose pointer = null;
	}
}
