import test from 'ava';
import { registerGroups } from '../helpers/register-rows.js';
import { transactionGroups } from './tables/transactions.js';

registerGroups(test, transactionGroups, 'tx');
