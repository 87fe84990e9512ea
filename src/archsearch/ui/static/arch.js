// Architecture values as text, using the search space's candidate names.

import { fmtChoice } from "./dom.js";

/** Text of `value` for the choice `dim` (an entry of the space JSON); input choices show the
 * names of the chosen inputs. */
export function choiceText(dim, value) {
  if (dim && dim.kind === "input_choice" && Array.isArray(value)) {
    return value.length ? value.map((i) => dim.candidates[i] ?? String(i)).join(" + ") : "∅";
  }
  return fmtChoice(value);
}

/** label → space entry. */
export function byLabel(space) {
  return new Map((space ? space.choices : []).map((c) => [c.label, c]));
}
