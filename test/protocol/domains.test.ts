import test from 'ava';
import { registerGroups } from '../helpers/register-rows.js';
import { domainGroups } from './tables/domains.js';

registerGroups(test, domainGroups, 'dom');
