/**
 * HTTP stream mode, so the proxy streams bodies instead of holding them whole. Named to load first
 * (devhost sorts the entry points); `app.setup` only has to run before the host asks the programming
 * model for its capabilities, which both hosts do after every entry point has loaded.
 * @see https://learn.microsoft.com/azure/azure-functions/functions-reference-node#http-streams
 */
import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
