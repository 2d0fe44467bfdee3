import { ConsiliumError } from '../../client/src/sdk/index.ts';

/** The stable code a call was refused with ('accepted' when it was not; the text of anything that is no ConsiliumError). */
export async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof ConsiliumError ? err.code : String(err);
  }
  return 'accepted';
}
