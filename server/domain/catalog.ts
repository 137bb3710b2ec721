import type { CatalogDto, PackageDto, PlanTierDto } from '../../contract/index.js';
import { DomainError } from './errors.js';

export interface PackageDef {
  id: string;
  name: string;
  minutes: number;
  priceMinor: number;
  popular: boolean;
}

export interface Catalog {
  currency: string;
  packages: PackageDef[];
  /** Plan tiers, cheapest first; the "next tier" of a plan is the one after it. */
  plans: PlanTierDto[];
}

/** The default catalog: larger packages cost less per minute. */
export const defaultCatalog: Catalog = {
  currency: 'USD',
  packages: [
    { id: 'small', name: 'Small', minutes: 50, priceMinor: 1500, popular: false },
    { id: 'medium', name: 'Medium', minutes: 100, priceMinor: 2500, popular: true },
    { id: 'large', name: 'Large', minutes: 250, priceMinor: 5000, popular: false },
  ],
  plans: [
    { id: 'starter', name: 'Starter', monthlyMinutes: 500, priceMinor: 4900 },
    { id: 'growth', name: 'Growth', monthlyMinutes: 1500, priceMinor: 12900 },
    { id: 'scale', name: 'Scale', monthlyMinutes: 4000, priceMinor: 29900 },
  ],
};

/** Per-minute price in minor units, rounded half up. */
export function perMinuteMinor(pkg: Pick<PackageDef, 'minutes' | 'priceMinor'>): number {
  return Math.round(pkg.priceMinor / pkg.minutes);
}

export function catalogDto(catalog: Catalog): CatalogDto {
  return {
    currency: catalog.currency,
    packages: catalog.packages.map((p): PackageDto => ({
      ...p,
      perMinuteMinor: perMinuteMinor(p),
    })),
    plans: catalog.plans.map((p) => ({ ...p })),
  };
}

export function findPackage(catalog: Catalog, id: string): PackageDef {
  const pkg = catalog.packages.find((p) => p.id === id);
  if (!pkg) throw new DomainError('package_not_found', `No package with id "${id}".`);
  return pkg;
}

export function findPlan(catalog: Catalog, id: string): PlanTierDto {
  const plan = catalog.plans.find((p) => p.id === id);
  if (!plan) throw new DomainError('plan_not_found', `No plan with id "${id}".`);
  return plan;
}

/** The plan tier after `id` by price, or null for the top tier. */
export function nextPlan(catalog: Catalog, id: string): PlanTierDto | null {
  const i = catalog.plans.findIndex((p) => p.id === id);
  return i >= 0 && i + 1 < catalog.plans.length ? catalog.plans[i + 1] : null;
}

const isId = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isMoney = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks a catalog read from configuration and returns it with its plans
 * sorted by price. Throws with a sentence naming the first problem.
 */
export function parseCatalog(input: unknown): Catalog {
  const fail = (why: string): never => {
    throw new Error(`Invalid catalog: ${why}`);
  };
  if (typeof input !== 'object' || input === null) fail('expected a JSON object');
  const c = input as Record<string, unknown>;
  if (typeof c.currency !== 'string' || !/^[A-Z]{3}$/.test(c.currency))
    fail('"currency" must be an ISO 4217 code such as "USD"');
  if (!Array.isArray(c.packages) || c.packages.length === 0)
    fail('"packages" must be a non-empty array');
  if (!Array.isArray(c.plans) || c.plans.length === 0) fail('"plans" must be a non-empty array');
  const packages = (c.packages as unknown[]).map((raw, i): PackageDef => {
    const p = (raw ?? {}) as Record<string, unknown>;
    if (!isId(p.id)) fail(`packages[${i}].id must be a short id`);
    if (typeof p.name !== 'string' || p.name === '') fail(`packages[${i}].name must be text`);
    if (!isCount(p.minutes)) fail(`packages[${i}].minutes must be a positive integer`);
    if (!isMoney(p.priceMinor)) fail(`packages[${i}].priceMinor must be an integer ≥ 0`);
    return {
      id: p.id as string,
      name: p.name as string,
      minutes: p.minutes as number,
      priceMinor: p.priceMinor as number,
      popular: p.popular === true,
    };
  });
  const plans = (c.plans as unknown[]).map((raw, i): PlanTierDto => {
    const p = (raw ?? {}) as Record<string, unknown>;
    if (!isId(p.id)) fail(`plans[${i}].id must be a short id`);
    if (typeof p.name !== 'string' || p.name === '') fail(`plans[${i}].name must be text`);
    if (!isCount(p.monthlyMinutes)) fail(`plans[${i}].monthlyMinutes must be a positive integer`);
    if (!isMoney(p.priceMinor)) fail(`plans[${i}].priceMinor must be an integer ≥ 0`);
    return {
      id: p.id as string,
      name: p.name as string,
      monthlyMinutes: p.monthlyMinutes as number,
      priceMinor: p.priceMinor as number,
    };
  });
  for (const list of [packages, plans]) {
    const ids = new Set(list.map((x) => x.id));
    if (ids.size !== list.length) fail('ids must be unique');
  }
  plans.sort((a, b) => a.priceMinor - b.priceMinor);
  return { currency: c.currency as string, packages, plans };
}
