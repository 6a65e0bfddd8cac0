import test from 'ava';
import { registerGroups } from '../helpers/register-rows.js';
import { nodeGroups } from './tables/nodes.js';

registerGroups(test, nodeGroups, 'nodes');
