/** Tables and the JSON record of the fan-out benchmark. */
export async function writeReport(_: unknown): Promise<void> {}
