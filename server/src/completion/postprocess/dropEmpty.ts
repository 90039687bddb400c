// A completion of whitespace only shows nothing useful.
import type { Filter } from './filter';
import { isBlank } from './lines';

export const dropEmpty: Filter = (item) => (isBlank(item) ? null : item);
