import test from 'ava';
import { registerGroups } from '../helpers/register-rows.js';
import { unprivilegedGroups } from './tables/unprivileged.js';

registerGroups(test, unprivilegedGroups, 'unpriv');
