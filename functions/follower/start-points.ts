import type { BlockPoint, Point } from '../domain/chain.js';

/** START_POINT: where to follow from when the database holds no block yet. */
export type StartPoint = 'origin' | 'tip' | BlockPoint;

export interface ChosenStart {
  points: Point[];
  /** Whether following may fall back to the beginning of the chain. */
  allowOrigin: boolean;
  from: 'database' | 'start_point';
}

/**
 * The database's resume points when it has any (the processor's position is the truth: a new leader resumes
 * where the engine is, re-emitting what an earlier leader may have sent without its being applied yet);
 * otherwise START_POINT, as in the local stack: origin, the network's tip now, or a given block.
 */
export async function chooseStart(
  stored: readonly BlockPoint[],
  startPoint: StartPoint,
  networkTip: () => Promise<Point>,
): Promise<ChosenStart> {
  if (stored.length > 0) return { points: [...stored], allowOrigin: false, from: 'database' };
  if (startPoint === 'origin') return { points: ['origin'], allowOrigin: true, from: 'start_point' };
  if (startPoint !== 'tip') return { points: [startPoint], allowOrigin: false, from: 'start_point' };
  const tip = await networkTip();
  return { points: [tip], allowOrigin: tip === 'origin', from: 'start_point' };
}
