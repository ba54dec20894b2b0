/**
 * Structural invariants of the deployment (infra/, azure.yaml) that a careless edit could break
 * without any Bicep compiler noticing here: the settings the broker reads, secrets only as Key
 * Vault references, Key Vault in RBAC mode, and the names azd relies on.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const infraDir = join(root, 'infra');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

const ensureSecrets = require('../../infra/hooks/ensure-secrets.js') as {
  BROKER_SECRETS: { name: string; create: () => string }[];
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Text between the bracket that opens at the end of `opener` and its matching close. */
function braceBlockOf(text: string, opener: string, open: string, close: string): string {
  const start = text.indexOf(opener);
  if (start < 0) throw new Error(`"${opener}" not found`);
  let depth = 0;
  for (let i = start + opener.length - 1; i < text.length; i += 1) {
    if (text[i] === open) depth += 1;
    if (text[i] === close) depth -= 1;
    if (depth === 0) return text.slice(start + opener.length, i);
  }
  throw new Error(`"${opener}" is not closed`);
}

/** Text between the braces that open at the end of `opener` and their matching close. */
function braceBlock(text: string, opener: string): string {
  return braceBlockOf(text, opener, '{', '}');
}

/** Top-level `name: value` pairs of a Bicep object body (values as written). */
function bicepObjectEntries(body: string): Map<string, string> {
  const entries = new Map<string, string>();
  let depth = 0;
  for (const line of body.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$/.exec(line);
    if (depth === 0 && match && !line.trim().startsWith('//')) entries.set(match[1], match[2].trim());
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
  }
  return entries;
}

/** Minimal reader for azure.yaml's nested mappings (`key: value`, two-space indents). */
function readYamlMappings(text: string): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  const stack: { indent: number; map: Record<string, unknown> }[] = [{ indent: -1, map: top }];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const match = /^\s*([^:#]+):\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    while (stack[stack.length - 1].indent >= indent) stack.pop();
    const parent = stack[stack.length - 1].map;
    if (match[2] === '') {
      const child: Record<string, unknown> = {};
      parent[match[1]] = child;
      stack.push({ indent, map: child });
    } else {
      parent[match[1]] = match[2];
    }
  }
  return top;
}

const apiBicep = read('infra/app/api.bicep');
const appSettings = bicepObjectEntries(braceBlock(apiBicep, 'var appSettings = {'));

describe('azure.yaml', () => {
  const yaml = readYamlMappings(read('azure.yaml'));
  const services = yaml.services as Record<string, Record<string, string>>;

  test('names a service hosted as a function whose project folder holds a Functions app', () => {
    const [name, service] = Object.entries(services)[0];
    expect(name).toBe('api');
    expect(service.host).toBe('function');
    expect(service.language).toBe('ts');
    const projectDir = join(root, service.project);
    expect(existsSync(join(projectDir, 'package.json'))).toBe(true);
    expect(existsSync(join(projectDir, 'host.json'))).toBe(true);
  });

  test('the service name matches the azd-service-name tag the Function App carries', () => {
    expect(apiBicep).toMatch(/param serviceName string = 'api'/);
    expect(apiBicep).toContain("'azd-service-name': serviceName");
    expect(Object.keys(services)).toEqual(['api']);
  });

  test('the postprovision hook it runs exists', () => {
    const hooks = yaml.hooks as Record<string, Record<string, Record<string, string>>>;
    for (const platform of ['posix', 'windows']) {
      const script = /^node (\S+)$/.exec(hooks.postprovision[platform].run)?.[1];
      expect(script && existsSync(join(root, script))).toBe(true);
    }
  });
});

describe('one deploy path: build here, ship dist/ with production dependencies', () => {
  const service = (readYamlMappings(read('azure.yaml')).services as Record<string, Record<string, unknown>>).api;

  test('azure.yaml turns the remote build off and ships the folder the prepackage hook stages', () => {
    const stager = require('../../infra/hooks/stage-package.js') as { STAGE_DIR_NAME: string };
    expect(service.remoteBuild).toBe('false');
    expect(service.dist).toBe(stager.STAGE_DIR_NAME);
    const prepackage = (service.hooks as Record<string, Record<string, Record<string, string>>>).prepackage;
    for (const platform of ['posix', 'windows']) {
      expect(prepackage[platform].run).toBe('node infra/hooks/stage-package.js');
    }
    expect(read('.gitignore').split('\n')).toContain(`${stager.STAGE_DIR_NAME}/`);
  });

  test('the prepare script does nothing, rather than fail, where scripts/ is not shipped', () => {
    const prepare = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.prepare;
    expect(prepare).toContain("existsSync('scripts/link-devhost-bin.js') &&");
  });

  test('docs/deploy.md shows the .funcignore that is in the repository, not another one', () => {
    const docs = read('docs/deploy.md');
    const block = /```gitignore\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(block).toBe(read('.funcignore'));
  });
});

describe('the package stager reads .funcignore with gitignore rules', () => {
  const { parseIgnoreFile, isIgnored } = require('../../infra/hooks/stage-package.js') as {
    parseIgnoreFile: (text: string) => unknown[];
    isIgnored: (rules: unknown[], path: string, isDirectory: boolean) => boolean;
  };
  const ignored = (rules: string, path: string, isDirectory = false): boolean => isIgnored(parseIgnoreFile(rules), path, isDirectory);

  test('a later negation re-includes, the last matching rule wins', () => {
    expect(ignored('*.ts\n!dist/**', 'src/a.ts')).toBe(true);
    expect(ignored('*.ts\n!dist/**', 'dist/src/a.ts')).toBe(false);
    expect(ignored('!dist/**\n*.ts', 'dist/src/a.ts')).toBe(true);
  });

  test('a pattern without an inner slash matches at any depth; a leading slash anchors it to the root', () => {
    expect(ignored('src', 'dist/src', true)).toBe(true);
    expect(ignored('/src/', 'dist/src', true)).toBe(false);
    expect(ignored('/src/', 'src', true)).toBe(true);
    expect(ignored('dist/devhost', 'x/dist/devhost', true)).toBe(false);
  });

  test('a trailing slash matches folders only', () => {
    expect(ignored('/src/', 'src', false)).toBe(false);
    expect(ignored('logs/', 'a/logs', true)).toBe(true);
  });

  test('wildcards: * stays within a segment, ** crosses them, ? is one character; comments and escapes', () => {
    expect(ignored('dist/*.js', 'dist/a/b.js')).toBe(false);
    expect(ignored('dist/**/*.js', 'dist/a/b.js')).toBe(true);
    expect(ignored('**/cache', 'a/b/cache', true)).toBe(true);
    expect(ignored('a?c', 'x/abc')).toBe(true);
    expect(ignored('# comment\n\n\\#literal', '#literal')).toBe(true);
    expect(ignored('# comment', '# comment')).toBe(false);
  });
});

describe('Node.js runtime', () => {
  test('the Flex Consumption app runs Node.js 22 LTS, and engines allow 22 in production and 20 for development', () => {
    const main = read('infra/main.bicep');
    expect(main).toMatch(/^param nodeVersion string = '22'$/m);
    expect(braceBlock(apiBicep, 'runtime: {')).toMatch(/version: nodeVersion/);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    // 22 LTS (production, CI) and 20.19+ (the development machines; out of support, see docs/deploy.md).
    expect(engines).toBe('^20.19.0 || >=22.12.0');
    expect((JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node: string } }> }).packages[''].engines?.node).toBe(engines);
  });
});

describe('Durable backend (docs/scale.md)', () => {
  const main = read('infra/main.bicep');
  const dts = read('infra/core/durable-task-scheduler.bicep');

  test('the backend is a parameter; the Durable Task Scheduler is provisioned only when chosen', () => {
    expect(main).toMatch(/^param durableBackend string = 'DurableTaskScheduler'$/m);
    expect(main).toMatch(/^module durableTaskScheduler '\.\/core\/durable-task-scheduler\.bicep' = if \(useDurableTaskScheduler\) \{$/m);
    expect(braceBlock(main, "module api './app/api.bicep' = {")).toMatch(/dependsOn: \[\s+rbac\s+durableTaskScheduler\s+\]/);
    expect(dts).toContain("resource scheduler 'Microsoft.DurableTask/schedulers@");
    expect(dts).toContain("resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@");
    expect(dts).toContain('principalId: appPrincipalId');
  });

  test('each backend gets the host.json values the broker needs, through AzureFunctionsJobHost__ settings', () => {
    expect(apiBicep).toContain("var hostOverride = 'AzureFunctionsJobHost__extensions__durableTask__'");
    expect(apiBicep).toContain("'${hostOverride}overridableExistingInstanceStates': 'NonRunningStates'");
    expect(apiBicep).toContain("'${hostOverride}storageProvider__type': 'azureManaged'");
    expect(apiBicep).toContain("DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'");
    expect(apiBicep).toContain("'${hostOverride}storageProvider__partitionCount': '16'");
    expect(apiBicep).toContain("'${hostOverride}storageProvider__maxQueuePollingInterval': '00:00:05'");
    expect(apiBicep).toContain('properties: union(appSettings, durableCommonSettings, durableBackendSettings)');
    const hubName = (JSON.parse(read('host.json')) as { extensions: { durableTask: { hubName: string } } }).extensions.durableTask.hubName;
    expect(main).toContain(`var taskHubName = '${hubName}'`);
  });
});

describe('Function App settings (infra/app/api.bicep)', () => {
  test('every setting the broker reads in Azure is set', () => {
    for (const name of [
      'BROKER_BASE_URL',
      'KEY_VAULT_URL',
      'BROKER_OPERATOR_KEY',
      'BROKER_CLIENT_KEYS',
      'BROKER_AUTHORIZATION_TIMEOUT_SECONDS',
      'BROKER_ALLOWED_RETURN_URLS',
      'BROKER_PROVIDERS_FILE',
      'BROKER_PROVIDERS',
    ]) {
      expect({ name, set: appSettings.has(name) }).toEqual({ name, set: true });
    }
  });

  test('AzureWebJobsStorage uses the identity-based form, never a connection string', () => {
    expect(appSettings.has('AzureWebJobsStorage')).toBe(false);
    expect(appSettings.get('AzureWebJobsStorage__accountName')).toBeDefined();
    expect(appSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(appSettings.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
  });

  test('BROKER_BASE_URL defaults to the https default host name of the app', () => {
    expect(appSettings.get('BROKER_BASE_URL')).toContain("'https://${functionApp.properties.defaultHostName}'");
  });

  test('operator and client keys are Key Vault references to secrets the postprovision hook creates', () => {
    const created = ensureSecrets.BROKER_SECRETS.map((secret) => secret.name);
    for (const name of ['BROKER_OPERATOR_KEY', 'BROKER_CLIENT_KEYS']) {
      const value = appSettings.get(name) ?? '';
      const secret = /^'@Microsoft\.KeyVault\(SecretUri=\$\{secretUri\}\/([a-z0-9-]+)\/\)'$/.exec(value)?.[1];
      expect({ name, secret }).toEqual({ name, secret: expect.any(String) });
      expect(created).toContain(secret);
    }
    expect(apiBicep).toContain("var secretUri = '${keyVaultUri}secrets'");
    expect(apiBicep).toContain('keyVaultReferenceIdentity: identityId');
  });

  test('every setting set is documented in docs/configuration.md', () => {
    const docs = read('docs/configuration.md');
    for (const name of appSettings.keys()) {
      expect({ name, documented: docs.includes(`\`${name}\``) }).toEqual({ name, documented: true });
    }
  });

  test('the app runs Node on the Flex Consumption plan as a Linux function app', () => {
    expect(apiBicep).toContain("kind: 'functionapp,linux'");
    expect(braceBlock(apiBicep, 'sku: {')).toMatch(/name: 'FC1'\s+tier: 'FlexConsumption'/);
    expect(braceBlock(apiBicep, 'runtime: {')).toMatch(/name: 'node'/);
    expect(braceBlock(apiBicep, 'authentication: {')).toContain("type: 'UserAssignedIdentity'");
  });
});

describe('Key Vault and roles', () => {
  test('Key Vault uses Azure RBAC, not access policies', () => {
    const vault = read('infra/core/keyvault.bicep');
    expect(vault).toMatch(/^\s*enableRbacAuthorization: true$/m);
    expect(vault).not.toContain('accessPolicies');
  });

  test('the app identity gets the storage, Key Vault and telemetry roles it needs', () => {
    const rbac = read('infra/app/rbac.bicep');
    for (const roleId of [
      'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', // Storage Blob Data Owner
      '974c5e8b-45b9-4653-ba55-5f855dd0fb88', // Storage Queue Data Contributor
      '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', // Storage Table Data Contributor
      '4633458b-17de-408a-b874-0445c86b69e6', // Key Vault Secrets User
      '3913510d-42f4-4e42-8a64-420c390055eb', // Monitoring Metrics Publisher
    ]) {
      expect(rbac).toContain(roleId);
    }
  });
});

/**
 * Azure built-in role ids, copied from Microsoft's list of built-in roles:
 * https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
 * (category pages /storage, /security, /monitor and /integration list each role's "id").
 */
const BUILT_IN_ROLES: Readonly<Record<string, string>> = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  'Durable Task Data Contributor': '0ad04412-c4d5-4796-b79c-f76d14c8d402',
};

describe('role definition ids', () => {
  const bicepFiles = filesUnder(infraDir)
    .filter((path) => path.endsWith('.bicep'))
    .map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }));
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const constant = /^var (\w+RoleId) = '([0-9a-f-]{36})' \/\/ (.+)$/gm;
  const constants = bicepFiles.flatMap((file) =>
    [...file.text.matchAll(constant)].map((match) => ({ path: file.path, name: match[1], id: match[2], role: match[3].trim() })),
  );

  test('every role id is a constant named after its role, and the id is that built-in role\'s id', () => {
    expect(constants.length).toBeGreaterThanOrEqual(Object.keys(BUILT_IN_ROLES).length);
    for (const { path, name, id, role } of constants) {
      expect({ path, name, role, id }).toEqual({ path, name, role, id: BUILT_IN_ROLES[role] });
      const camel = role.replace(/ (\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toLowerCase());
      expect({ path, name }).toEqual({ path, name: `${camel}RoleId` });
    }
  });

  test('no role id is written anywhere but in its named constant', () => {
    const stray = bicepFiles.flatMap((file) =>
      file.text
        .split('\n')
        .filter((line) => guid.test(line) && !/^var \w+RoleId = '/.test(line))
        .map((line) => `${file.path}: ${line.trim()}`),
    );
    expect(stray).toEqual([]);
  });

  test('every role assignment names its role through a constant', () => {
    const isConstant = (path: string, name: string): boolean => constants.some((c) => c.path === path && c.name === name);
    for (const file of bicepFiles) {
      // A loop over a list of constants (`for roleId in storageRoles`) counts as named.
      const loops = new Map([...file.text.matchAll(/for (\w+) in (\w+)/g)].map((m) => [m[1], m[2]]));
      for (const match of file.text.matchAll(/roleDefinitions', (\w+)\)/g)) {
        const list = loops.get(match[1]);
        const names = list ? braceBlockOf(file.text, `var ${list} = [`, '[', ']').split('\n').map((l) => l.trim()).filter(Boolean) : [match[1]];
        for (const name of names) expect({ path: file.path, name, constant: isConstant(file.path, name) }).toEqual({ path: file.path, name, constant: true });
      }
    }
  });

  test('the deployer gets Key Vault Secrets Officer and the app Key Vault Secrets User', () => {
    const rbac = read('infra/app/rbac.bicep');
    expect(braceBlock(rbac, "resource deployerKeyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {")).toContain(
      'keyVaultSecretsOfficerRoleId',
    );
    expect(braceBlock(rbac, "resource appKeyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {")).toContain('keyVaultSecretsUserRoleId');
  });
});

describe('no secret values in infra', () => {
  const infraFiles = filesUnder(infraDir).map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }));

  test('no file under infra/ mentions BROKER_ENCRYPTION_KEY (in Azure the key comes from Key Vault)', () => {
    expect(infraFiles.filter((file) => file.text.includes('BROKER_ENCRYPTION_KEY')).map((file) => file.path)).toEqual([]);
  });

  test('no account keys, instrumentation keys, SAS tokens or key-like literals', () => {
    const forbidden = [/listKeys\(/, /AccountKey=/i, /InstrumentationKey=/i, /SharedAccessSignature/i, /sig=/, /['"][A-Za-z0-9+/]{40,}={0,2}['"]/];
    const hits = infraFiles.flatMap((file) => forbidden.filter((pattern) => pattern.test(file.text)).map((pattern) => `${file.path}: ${pattern}`));
    expect(hits).toEqual([]);
  });

  test('secure parameters have no default value', () => {
    const hits = infraFiles.filter((file) => /@secure\(\)\s*param\s+\w+\s+string\s*=/.test(file.text)).map((file) => file.path);
    expect(hits).toEqual([]);
  });

  test('main.parameters.json only forwards azd environment values', () => {
    const parameters = JSON.parse(read('infra/main.parameters.json')).parameters as Record<string, { value: unknown }>;
    for (const [name, { value }] of Object.entries(parameters)) {
      expect({ name, value }).toEqual({ name, value: expect.stringMatching(/^\$\{[A-Z_]+(=[^}]*)?\}$/) });
    }
  });
});

describe('main.bicep', () => {
  const main = read('infra/main.bicep');

  test('is deployed at subscription scope and creates the resource group', () => {
    expect(main).toMatch(/^targetScope = 'subscription'$/m);
    expect(main).toMatch(/resource rg 'Microsoft\.Resources\/resourceGroups@/);
  });

  test('declares every parameter main.parameters.json passes, including the azd ones', () => {
    const parameters = Object.keys(JSON.parse(read('infra/main.parameters.json')).parameters);
    expect(parameters).toEqual(expect.arrayContaining(['environmentName', 'location', 'principalId']));
    for (const name of parameters) {
      expect({ name, declared: new RegExp(`^param ${name} `, 'm').test(main) }).toEqual({ name, declared: true });
    }
  });

  test('outputs the values azd and the postprovision hook read', () => {
    for (const name of ['AZURE_LOCATION', 'AZURE_TENANT_ID', 'AZURE_FUNCTION_APP_NAME', 'AZURE_KEY_VAULT_ENDPOINT', 'BROKER_BASE_URL']) {
      expect({ name, output: new RegExp(`^output ${name} string = `, 'm').test(main) }).toEqual({ name, output: true });
    }
  });

  test('every module it uses exists', () => {
    const modules = [...main.matchAll(/^module \w+ '([^']+)'/gm)].map((match) => match[1]);
    expect(modules.length).toBeGreaterThan(0);
    for (const path of modules) {
      expect({ path, exists: existsSync(join(infraDir, path)) }).toEqual({ path, exists: true });
    }
  });
});

describe('postprovision hook secret values', () => {
  const create = (name: string): string => {
    const secret = ensureSecrets.BROKER_SECRETS.find((candidate) => candidate.name === name);
    if (!secret) throw new Error(`${name} is not created by the hook`);
    return secret.create();
  };

  test('the encryption key is base64 of 32 fresh random bytes', () => {
    const key = create('broker-encryption-key');
    expect(Buffer.from(key, 'base64').length).toBe(32);
    expect(Buffer.from(key, 'base64').toString('base64')).toBe(key);
    expect(create('broker-encryption-key')).not.toBe(key);
  });

  test('the client keys value parses as name:key pairs as BROKER_CLIENT_KEYS expects', () => {
    const value = create('broker-client-keys');
    expect(value).toMatch(/^[a-z]+:[A-Za-z0-9_-]{43}$/);
  });

  test('the operator key has 256 bits and no separator characters', () => {
    expect(create('broker-operator-key')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
