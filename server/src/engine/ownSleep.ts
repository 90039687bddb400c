// A sleep this window decides for an engine of its own: keep what can be kept, then end the engine
// (deep) or free its model (light). Every engine sleeps this way unless it follows a sleep decided
// elsewhere (the local engine's shared host).
import type { Engine, EngineSleep, SleepParams } from './types';

export async function ownSleep(engine: Engine, { deep, shutdownMs, save }: SleepParams): Promise<EngineSleep> {
  await save();
  if (deep) {
    await engine.shutdown(shutdownMs);
    return { kept: false, stats: null };
  }
  try {
    return { kept: true, stats: await engine.unload() };
  } catch (err) {
    // An engine that died or hung (and was killed for it) freed the model all the same.
    if (!engine.exit) throw err;
    return { kept: false, stats: null };
  }
}
