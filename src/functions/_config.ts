/**
 * The settings are read and checked while the app loads, so invalid or unsafe settings stop it from
 * starting (the host reports the entry point's error, which names the setting) instead of failing
 * its first request. Named to load first (devhost sorts the entry points).
 */
import { getConfig } from '../config';

getConfig();
