// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class AccessRequest : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public AccessRequest() { }

		[global::Colyseus.Schema.Type(0, "string")]
		public string id = default(string);

		[global::Colyseus.Schema.Type(1, "string")]
		public string userId = default(string);

		[global::Colyseus.Schema.Type(2, "string")]
		public string name = default(string);

		[global::Colyseus.Schema.Type(3, "string")]
		public string role = default(string);

		[global::Colyseus.Schema.Type(4, "string")]
		public string resourceTypes = default(string);

		[global::Colyseus.Schema.Type(5, "string")]
		public string reason = default(string);

		[global::Colyseus.Schema.Type(6, "string")]
		public string status = default(string);

		[global::Colyseus.Schema.Type(7, "float64")]
		public double expiresAt = default(double);
	}
}
