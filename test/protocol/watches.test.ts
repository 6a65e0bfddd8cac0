import test from 'ava';
import { registerGroups } from '../helpers/register-rows.js';
import { watchGroups } from './tables/watches.js';

registerGroups(test, watchGroups, 'watches');
