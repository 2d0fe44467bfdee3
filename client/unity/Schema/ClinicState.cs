// 
// THIS FILE HAS BEEN GENERATED AUTOMATICALLY
// DO NOT CHANGE IT MANUALLY UNLESS YOU KNOW WHAT YOU'RE DOING
// 
// GENERATED USING @colyseus/schema 5.0.34
// 

namespace Consilium.Schema {
	public partial class ClinicState : global::Colyseus.Schema.Schema {
#if UNITY_5_3_OR_NEWER
		[global::UnityEngine.Scripting.Preserve]
#endif
		public ClinicState() { }

		[global::Colyseus.Schema.Type(0, "ref", typeof(RoomInfoState))]
		public RoomInfoState info = null;

		[global::Colyseus.Schema.Type(1, "ref", typeof(AnchorState))]
		public AnchorState anchor = null;

		[global::Colyseus.Schema.Type(2, "map", typeof(global::Colyseus.Schema.MapSchema<ParticipantState>))]
		public global::Colyseus.Schema.MapSchema<ParticipantState> participants = new global::Colyseus.Schema.MapSchema<ParticipantState>();

		[global::Colyseus.Schema.Type(3, "map", typeof(global::Colyseus.Schema.MapSchema<SceneObjectState>))]
		public global::Colyseus.Schema.MapSchema<SceneObjectState> objects = new global::Colyseus.Schema.MapSchema<SceneObjectState>();

		[global::Colyseus.Schema.Type(4, "map", typeof(global::Colyseus.Schema.MapSchema<CaseEntryState>))]
		public global::Colyseus.Schema.MapSchema<CaseEntryState> caseEntries = new global::Colyseus.Schema.MapSchema<CaseEntryState>();

		[global::Colyseus.Schema.Type(5, "map", typeof(global::Colyseus.Schema.MapSchema<AccessRequestState>))]
		public global::Colyseus.Schema.MapSchema<AccessRequestState> accessRequests = new global::Colyseus.Schema.MapSchema<AccessRequestState>();

		[global::Colyseus.Schema.Type(6, "map", typeof(global::Colyseus.Schema.MapSchema<ViewerState>))]
		public global::Colyseus.Schema.MapSchema<ViewerState> viewer = new global::Colyseus.Schema.MapSchema<ViewerState>();

		[global::Colyseus.Schema.Type(7, "ref", typeof(ReplayState))]
		public ReplayState replay = null;
	}
}
