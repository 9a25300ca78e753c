import type { Catalogue } from '..';

const access: Catalogue = {
  'access.title': 'Aktivität',
  'access.lead': 'Wer Ihre Daten angesehen hat, das Neueste zuerst, wie im Ledger vermerkt und von diesem Gerät geprüft.',
  'access.loading': 'Aktivität wird geladen …',
  'access.empty': 'Bisher hat niemand Ihre Daten angesehen.',
  'access.sentence': '{who} hat {records} gelesen: {titles}.',
  'access.sentenceNoTitles': '{who} hat {records} gelesen.',
  'access.alarm.head': 'Nicht echt.',
  'access.alarm.body': 'Jemand hat die Freigabe für {who} ohne deren Unterschrift benutzt. Beenden Sie diese Freigabe und informieren Sie die Praxis.',
  'access.warning': 'Carekey konnte diesen Zugriff nicht vollständig prüfen.',
  'access.verified': 'Im Ledger geprüft',
  'access.notIndependent': 'Gefunden auf einem Ledger-Knoten, den kein unabhängiger Zeuge prüft.',
  'access.seeSharing': 'Freigabe für {who}',
  'access.tech.node': 'Ledger-Knoten',
  'access.tech.index': 'Protokolleintrag',
  'access.tech.grant': 'Freigabe-ID',
  'access.tech.providerKey': 'Schlüssel der Praxis',
  'access.tech.verification': 'Prüfergebnis',
  'access.tech.witnessed': 'Unabhängig geprüft',
  'access.tech.yes': 'ja',
  'access.tech.no': 'nein',
  'access.alarms.head.one': '{n} Zugriff ist nicht echt',
  'access.alarms.head.other': '{n} Zugriffe sind nicht echt',
  'access.alarms.body': 'Jemand hat eine Freigabe vorgelegt, die der Prüfung nicht standhält. Beenden Sie diese Freigabe und wenden Sie sich an die Praxis.',
  'access.summary.one': '{n} Zugriff auf Ihre Daten',
  'access.summary.other': '{n} Zugriffe auf Ihre Daten',
  'access.summaryAlarm.one': '{n} Zugriff auf Ihre Daten; {alarms} davon ist nicht echt',
  'access.summaryAlarm.other': '{n} Zugriffe auf Ihre Daten; {alarms} davon nicht echt',
};

export default access;
