/**
 * Which events an endpoint receives, as SQL: the one rule, used by every statement that matches (the deliverer's
 * reads, the redelivery request, the backlog). An endpoint's patterns are exact types (`payment.confirmed`), a family
 * (`payment.*`) or all (`*`), as validateEventTypes admits them; `*` becomes LIKE's `%` (no event type contains `%`
 * or `_`).
 */
export function eventTypeMatches(typeSql: string, patternsSql: string): string {
  return `${typeSql} LIKE ANY (SELECT replace(t, '*', '%') FROM unnest(${patternsSql}) t)`;
}
