// signedIn gathers the screens of the signed-in app into one lazily loaded
// chunk (App.tsx), apart from the login screen's.
export { default } from './Shell';
export { Home } from './Home';
export { RoomView } from './RoomView';
export { SettingsPage } from './SettingsPage';
export { AdminPage } from './AdminPage';
