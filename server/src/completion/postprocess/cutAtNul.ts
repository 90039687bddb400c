// A NUL makes a file binary (to git, to other editors, and to our own document guard, which then
// turns completion off in that file), and no source code wants one: a completion ends before it.
import type { Filter } from './filter';

export const cutAtNul: Filter = (item) => {
  const at = item.indexOf('\0');
  return at < 0 ? item : item.slice(0, at);
};
