import type { ClientMessageName } from '../../../../shared/src/messages.ts';
import { accessApprove } from './access.approve.ts';
import { accessBreakGlass } from './access.breakGlass.ts';
import { accessDeny } from './access.deny.ts';
import type { Command } from './command.ts';
import { participantKick } from './participant.kick.ts';
import { pointerUpdate } from './pointer.update.ts';
import { presenterSet } from './presenter.set.ts';
import { voiceMute } from './voice.mute.ts';
import { voiceUnmute } from './voice.unmute.ts';
import { objectAdd } from './object.add.ts';
import { objectGrab } from './object.grab.ts';
import { objectMove } from './object.move.ts';
import { objectRelease } from './object.release.ts';
import { objectRemove } from './object.remove.ts';
import { anchorSet } from './anchor.set.ts';
import { guidanceAck } from './guidance.ack.ts';
import { guidanceClear } from './guidance.clear.ts';
import { guidanceDismiss } from './guidance.dismiss.ts';
import { guidanceNext } from './guidance.next.ts';
import { guidanceRepeat } from './guidance.repeat.ts';
import { guidanceUndo } from './guidance.undo.ts';
import { linkPong } from './link.pong.ts';
import { cdsFeedback } from './cds.feedback.ts';
import { cdsShare } from './cds.share.ts';
import { viewerSet } from './viewer.set.ts';
import { viewerPin } from './viewer.pin.ts';
import { recordingStart } from './recording.start.ts';
import { recordingStop } from './recording.stop.ts';
import { replayControl } from './replay.control.ts';
import { handRaise } from './hand.raise.ts';

/** Every room message has exactly one command; the compiler checks none is missing. */
export const commands: { [N in ClientMessageName]: Command<N> } = {
  'pointer.update': pointerUpdate,
  'presenter.set': presenterSet,
  'object.grab': objectGrab,
  'object.move': objectMove,
  'object.release': objectRelease,
  'object.add': objectAdd,
  'object.remove': objectRemove,
  'access.breakGlass': accessBreakGlass,
  'access.approve': accessApprove,
  'access.deny': accessDeny,
  'voice.mute': voiceMute,
  'voice.unmute': voiceUnmute,
  'participant.kick': participantKick,
  'anchor.set': anchorSet,
  'guidance.ack': guidanceAck,
  'guidance.dismiss': guidanceDismiss,
  'guidance.next': guidanceNext,
  'guidance.repeat': guidanceRepeat,
  'guidance.undo': guidanceUndo,
  'guidance.clear': guidanceClear,
  'link.pong': linkPong,
  'cds.share': cdsShare,
  'cds.feedback': cdsFeedback,
  'viewer.set': viewerSet,
  'viewer.pin': viewerPin,
  'recording.start': recordingStart,
  'recording.stop': recordingStop,
  'replay.control': replayControl,
  'hand.raise': handRaise,
};
