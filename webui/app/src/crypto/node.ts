// node.ts is the entry of the Node.js build of the crypto engine, used by
// the end-to-end test across real nodes (e2ee/) and the bench script: the
// same code as the browser's, without React or the store.
export { E2ee, Verification, loadWasm, type Transport, type Decrypted, type DeviceView, type EncMessage } from './engine';
export { encryptAttachment, decryptAttachment, type EncryptedFile } from './attachments';
export { toMatrixUser, fromMatrixUser, toMatrixRoom, fromMatrixRoom } from './ids';
export { encodeRecoveryKey, decodeRecoveryKey } from './recoverykey';
