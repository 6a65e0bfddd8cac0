import type { RowGroup } from '../../helpers/xs-rows.js';
import { domainGroups } from './domains.js';
import { nodeGroups } from './nodes.js';
import { commitRuleGroups, transactionGroups } from './transactions.js';
import { unprivilegedGroups } from './unprivileged.js';
import { watchGroups } from './watches.js';

/** Every table, in the order the differential runner replays them. */
export const allGroups: RowGroup[] = [...nodeGroups, ...watchGroups, ...transactionGroups, ...commitRuleGroups, ...domainGroups, ...unprivilegedGroups];
