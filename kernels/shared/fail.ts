/**
 * The one error builder: every message of the package starts with the name of
 * the op, layer, tool or kernel that rejected its input ("Error in <who>: ").
 */
export function fail(who: string, message: string): never {
  throw new Error(`Error in ${who}: ${message}`);
}
