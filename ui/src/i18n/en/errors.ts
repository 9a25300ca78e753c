import type { Catalogue } from '..';

/**
 * One sentence per error code (backend/errors.ts `ERROR_CODES`): what happened, then what to do.
 * The wallet's own message stays under "Technical details" in the notice.
 */
const errors: Catalogue = {
  // The vault
  'errors.wrong_passphrase': 'That passphrase is not right. Check Caps Lock and try again.',
  'errors.weak_kdf': 'The wallet file on this device is protected more weakly than Carekey accepts, so it was not opened; it may have been changed. Restore your wallet from the recovery kit and a backup.',
  'errors.no_wallet': 'There is no wallet on this device yet. Create one, or restore it with your recovery kit.',
  'errors.wallet_exists': 'A wallet already exists on this device. Unlock it, or use “Restore” in Settings to replace it.',
  'errors.vault': 'The wallet on this device could not be opened or saved. Check that the disk is not full and try again; if it keeps happening, restore from a backup.',
  'errors.weak_passphrase': 'That passphrase is too easy to guess. Choose a longer one: four or more unrelated words work well.',
  // Checks on records, keys, files and codes
  'errors.record_crypto': 'A record could not be opened because its protection did not check out. It may be damaged: import it again, or restore from a backup.',
  'errors.crypto': 'A security check failed, so Carekey stopped and changed nothing. Try again; if it keeps happening, restore from a backup.',
  'errors.bad_document': 'A signed file did not pass its check, so Carekey did not use it. Ask whoever gave it to you for a fresh copy.',
  'errors.bad_fhir': 'This file is not a health record Carekey can read. Ask your provider for the record as a FHIR file (.json) and try again.',
  'errors.bad_qr': 'No Carekey request could be read from this code or link. Check that it is the code the practice shows for Carekey, and try again.',
  // Files, the wallet's own state, look-ups
  'errors.io': 'A file or folder could not be read or written. Check that it exists and that the drive is plugged in and has space, then try again.',
  'errors.state': 'Carekey found its saved information on this device in an unexpected state and stopped to keep your records safe. Try again; if it keeps happening, restore from a backup.',
  'errors.wrong_role': 'This belongs to a provider’s Carekey, not to a patient’s wallet, so it cannot be used here. Check what you opened.',
  'errors.not_found': 'Carekey could not find what you asked for; it may have been removed already. Go back and try again.',
  'errors.ambiguous': 'More than one item matches. Choose the one you mean from the list and try again.',
  'errors.bad_journal': 'The list of unfinished changes on this device is damaged, so Carekey could not continue. Try again later; if it keeps happening, ask for help.',
  'errors.no_home': 'Carekey could not find your home folder to keep the wallet in. Check your user account and start Carekey again.',
  // Records
  'errors.not_a_file': 'That is not a file Carekey can import. Choose the record file itself, not a folder.',
  'errors.record_tampered': 'A record was changed outside Carekey, so it was not used. Import it again from your provider, or restore from a backup.',
  'errors.rekey_failed': 'Carekey could not lock your records with a new key. Nothing was lost: try again.',
  // Sharing
  'errors.unconfirmed_nodes': 'Confirm the ledger nodes this request names (tick the box), then share again.',
  'errors.empty_share': 'Choose at least one record or type of record to share.',
  'errors.not_requested': 'You chose something the provider did not ask for. Share only what the request lists, or ask the provider for a new request.',
  'errors.bad_duration': 'That end date does not work: sharing can only be made shorter, and it must end in the future. Choose another date, or stop sharing now.',
  'errors.grant_not_active': 'This sharing has already ended, so it cannot be changed.',
  'errors.directory_key_mismatch': 'This directory file is not signed by the key you entered. Check that the file and the key came from the same source you trust, and try again.',
  'errors.bad_key': 'That key is not valid. Check that you copied all of it, from a source you trust, and try again.',
  // Ledger nodes
  'errors.bad_node_url': 'That is not an address Carekey can use for a ledger node. Check it and try again.',
  'errors.bad_node_ref': 'That ledger node is not one you added. Check the list in Settings.',
  'errors.bad_log_key': 'That node key is not valid. Copy it again from the node’s operator and try again.',
  'errors.bad_witness_key': 'That witness key is not valid. Copy it again from its operator and try again.',
  'errors.bad_quorum': 'You asked for more witness confirmations than there are witnesses. Lower the number, or add witnesses.',
  'errors.needs_witness': 'A node on another computer needs at least one witness, so that its answers can be checked independently. Add a witness key, or knowingly choose to go without.',
  'errors.node_key_mismatch': 'The node at that address answered with a different key than the one you gave. Do not use it until its operator confirms the right key.',
  'errors.node_in_use': 'This node is still needed, so it cannot be removed now. End the sharing that uses it first, or move the node to its new address.',
  'errors.node_url_taken': 'You already added a node at that address.',
  // Backups
  'errors.backup_share_gone': 'This backup can no longer be opened: its key was deleted from the ledger nodes after an erasure. Use a newer backup.',
  'errors.backup_share_unreachable': 'This backup needs a ledger node that cannot be reached right now. Check your internet connection and try again later.',
  // Erasure receipts
  'errors.bad_interval': 'Choose how often to back up: every 1 to 90 days.',
  'errors.backup_folder_missing': 'The backup folder is not there. Plug in the drive that holds it (or choose another folder) and try again.',

  'errors.not_a_receipt': 'This file is not a Carekey erasure receipt. Choose the receipt file you saved.',
  'errors.bad_receipt': 'This erasure receipt is damaged or was changed, so it cannot be trusted.',
  'errors.receipt_mismatch': 'This receipt does not match what the ledger nodes recorded, so it cannot be trusted. Keep it, and ask for help.',
  'errors.bad_ledger_proof': 'A ledger node’s proof did not check out, so Carekey did not trust its answer. Try again later; if it keeps happening, look at Settings.',
  // Providers and directories
  'errors.bad_name': 'That name cannot be used. Choose a shorter name with ordinary letters.',
  'errors.empty_request': 'This request does not ask for anything. Ask the provider for a new request.',
  'errors.bad_validity': 'This request is out of date or its dates do not make sense. Ask the provider for a new request.',
  'errors.refused': 'A ledger node refused this. Try again later; if it keeps happening, look at Settings.',
  'errors.ledger': 'A ledger node could not be reached or did not answer properly. Check your internet connection and try again later.',
  // Health cards
  'errors.not_a_card': 'This is not a health card Carekey can read. Choose the card file (.smart-health-card) or a clear picture of the card’s QR code, or scan the code again.',
  'errors.card_refused': 'Carekey checked this card with its issuer and it did not pass, so it was not kept. Ask the issuer for a new card.',
  'errors.issuer_unreachable': 'Carekey could not reach the card’s issuer to check it, so nothing was kept. Check your internet connection and try again later.',
  'errors.bad_issuer': 'That is not an issuer address Carekey can use: it must be a secure web address. Copy it exactly as the issuer gives it and try again.',
  // The patient summary
  'errors.no_patient_record': 'A summary needs a record about you, with your name and birth date. Add the health summary your doctor or hospital gave you, then try again.',
  'errors.record_not_json': 'One of your records can no longer be read, so the summary could not be made. Delete that record and add it again from its file.',
  'errors.summary_failed': 'Carekey could not put your records together into a summary. Try again; if it keeps happening, ask for help.',
  // The app's own
  'errors.locked': 'The wallet is locked. Unlock it and try again.',
  'errors.bad_end': 'That date does not work: the new last day must be from today and before the day sharing ends now. Choose another date, or stop sharing now.',
  'errors.already_shortened': 'You already moved the end of this sharing. To end it sooner still, use “Stop sharing”.',
  'errors.bad_input': 'Something you entered could not be used. Check it and try again.',
  'errors.internal': 'Something went wrong inside Carekey and nothing was changed. Try again, or restart Carekey.',
  'errors.unknown': 'Something went wrong. Try again; if it keeps happening, restart Carekey.',
  // SMART Health Links
  'errors.no_link_node': 'A link is kept by a ledger node, and none is set up. Add one in Settings (under technical details), then try again.',
  'errors.not_a_health_record': 'One of the chosen records is a file (a PDF or an image), and a link can only carry health records. Leave it out and try again.',
  'errors.bad_label': 'That name is too long: the clinic sees at most 80 characters. Shorten it and try again.',
  'errors.bad_expiry': 'The link must end in the future. Choose how long it can be opened again.',
  'errors.bad_passcode': 'That passcode cannot be used: it must be 1 to 256 characters. Use the suggested one, or type another.',
  'errors.link_ended': 'This link has ended, so it cannot change. Make a new link instead.',
  'errors.not_long_term': 'Only a link made to be kept up to date can be updated. Make a new link instead.',
  'errors.link_not_stored': 'The ledger node did not keep the link, so no link was made. Check your internet connection and try again later.',
};

export default errors;
