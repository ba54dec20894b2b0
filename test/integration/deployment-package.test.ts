/**
 * The deployment package as azd builds it (azure.yaml: prepackage hook infra/hooks/stage-package.js,
 * `dist: .deploy`, `remoteBuild: false`): the files .funcignore keeps plus `npm ci --omit=dev`.
 * The package must load on its own, from its own node_modules, and register the same functions as
 * the build it came from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const stager = require('../../infra/hooks/stage-package.js') as {
  stagePackage: (options: { root?: string; outDir?: string; npmArgs?: string[] }) => string;
  keptFiles: (root?: string) => string[];
};

interface Loaded {
  functions: { name: string; trigger: string }[];
  warnings: string[];
  modelPackage: string;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function listFunctions(appDir: string): Loaded {
  const output = execFileSync(process.execPath, [join(root, 'test/support/list-app-functions.js'), appDir], {
    encoding: 'utf8',
    // Development storage and no secrets: what a first start sees before any setting is read.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return JSON.parse(output) as Loaded;
}

let stage: string;

beforeAll(() => {
  if (!existsSync(join(root, 'dist/src/functions'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  stage = join(mkdtempSync(join(tmpdir(), 'broker-package-')), 'package');
  stager.stagePackage({ outDir: stage, npmArgs: ['--prefer-offline', '--loglevel=error'] });
}, 240_000);

afterAll(() => {
  if (stage) rmSync(join(stage, '..'), { recursive: true, force: true });
});

describe('the deployment package', () => {
  test('holds everything the build put under dist/src (code, source maps, static assets), and no development files', () => {
    const built = filesUnder(join(root, 'dist/src')).map((path) => relative(root, path));
    const shipped = filesUnder(join(stage, 'dist')).map((path) => relative(stage, path));
    expect(shipped.sort()).toEqual(built.sort());
    for (const kept of ['host.json', 'package.json', 'package-lock.json']) expect(existsSync(join(stage, kept))).toBe(true);
    for (const left of ['src', 'test', 'devhost', 'scripts', 'infra', 'docs', 'bench', 'dist/devhost', 'tsconfig.json', 'local.settings.json', 'local.settings.sample.json']) {
      expect({ left, present: existsSync(join(stage, left)) }).toEqual({ left, present: false });
    }
  });

  test('has the production dependencies and none of the development ones', () => {
    const pkg = require('../../package.json') as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies)) expect({ name, installed: existsSync(join(stage, 'node_modules', name, 'package.json')) }).toEqual({ name, installed: true });
    for (const name of Object.keys(pkg.devDependencies)) expect({ name, installed: existsSync(join(stage, 'node_modules', name)) }).toEqual({ name, installed: false });
  });

  test('tells azd to ship it whole: its own ignore files exclude nothing', () => {
    for (const name of ['.funcignore', '.zipignore']) {
      const lines = readFileSync(join(stage, name), 'utf8').split('\n').filter((line: string) => line.trim() && !line.startsWith('#'));
      expect({ name, lines }).toEqual({ name, lines: [] });
    }
  });

  test('loads from its own node_modules and registers exactly the functions of the build, without runtime warnings', () => {
    const fromPackage = listFunctions(stage);
    const fromBuild = listFunctions(root);
    expect(fromPackage.modelPackage.startsWith(join(stage, 'node_modules'))).toBe(true);
    expect(fromPackage.functions.length).toBeGreaterThan(10);
    expect(fromPackage.functions).toEqual(fromBuild.functions);
    const triggers = new Set(fromPackage.functions.map((f) => f.trigger));
    for (const trigger of ['httpTrigger', 'orchestrationTrigger', 'activityTrigger']) expect(triggers).toContain(trigger);
    expect(fromPackage.warnings).toEqual([]);
  });
});

describe('.funcignore semantics (gitignore rules, as azd and Core Tools read them)', () => {
  test('anchored folders leave the compiled copies under dist/ in, and the last matching rule wins', () => {
    const kept = stager.keptFiles(root);
    expect(kept).toContain('host.json');
    expect(kept.some((file) => file.startsWith('dist/src/functions/') && file.endsWith('.js'))).toBe(true);
    expect(kept.filter((file) => file.startsWith('src/') || file.startsWith('dist/devhost/') || file.startsWith('node_modules/') || file.endsWith('.ts'))).toEqual([]);
  });
});
