import type { Catalogue } from '..';

const access: Catalogue = {
  'access.title': 'Activity',
  'access.lead': 'Who looked at your records, newest first, as recorded on the ledger and checked by this device.',
  'access.loading': 'Loading activity…',
  'access.empty': 'Nobody has looked at your records yet.',
  'access.sentence': '{who} read {records}: {titles}.',
  'access.sentenceNoTitles': '{who} read {records}.',
  'access.alarm.head': 'Not genuine.',
  'access.alarm.body': 'Someone used the sharing with {who} without their signature. Stop that sharing and tell the provider.',
  'access.warning': 'Carekey could not fully check this access.',
  'access.verified': 'Checked on the ledger',
  'access.notIndependent': 'Found on a ledger node that no independent witness checks.',
  'access.seeSharing': 'Sharing with {who}',
  'access.tech.node': 'Ledger node',
  'access.tech.index': 'Log entry',
  'access.tech.grant': 'Grant id',
  'access.tech.providerKey': 'Provider key',
  'access.tech.verification': 'Check result',
  'access.tech.witnessed': 'Independently checked',
  'access.tech.yes': 'yes',
  'access.tech.no': 'no',
  'access.alarms.head.one': '{n} access does not check out',
  'access.alarms.head.other': '{n} accesses do not check out',
  'access.alarms.body': 'Someone presented a sharing that does not check out. Stop that sharing and contact the provider.',
  'access.summary.one': '{n} access to your records',
  'access.summary.other': '{n} accesses to your records',
  'access.summaryAlarm.one': '{n} access to your records; {alarms} does not check out',
  'access.summaryAlarm.other': '{n} accesses to your records; {alarms} do not check out',
};

export default access;
