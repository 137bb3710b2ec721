import type { UsageHistoryItemDto, UsagePageDto } from '../contract/index.js';
import type { ErrorEventDetail } from './events.js';
import type { Format } from './format.js';
import type { MinuteTopupStrings } from './i18n.js';

/** The history's **Recent calls**: the pages of `GET …/usage` loaded so far. */
export interface CallsState {
  /** Newest first, each call once; `null` until the first page arrived. */
  items: readonly UsageHistoryItemDto[] | null;
  /** Where **Show more** goes on; `null` on the last page. */
  nextCursor: string | null;
  /** A next page is on its way. */
  loadingMore: boolean;
  /** Why the first page (while `items` is `null`) or the next page could not be loaded. */
  error: ErrorEventDetail | null;
}

export const noCalls: CallsState = Object.freeze({
  items: null,
  nextCursor: null,
  loadingMore: false,
  error: null,
});

/**
 * The first page read again (a live change, the view shown again) over what
 * is known. When it reaches a call already shown, the calls paged in beyond it
 * stay, with their cursor; otherwise (more new calls than a page, or nothing
 * shown yet) the page replaces the list: `replaced` says so.
 */
export function withFirstPage(known: CallsState, page: UsagePageDto) {
  const fresh = new Set(page.usage.map((call) => call.callId));
  const items = known.items;
  if (items && page.nextCursor && items.some((call) => fresh.has(call.callId))) {
    return {
      replaced: false,
      items: [...page.usage, ...items.filter((call) => !fresh.has(call.callId))],
      nextCursor: known.nextCursor,
    };
  }
  return { replaced: true, items: page.usage, nextCursor: page.nextCursor };
}

/** The page after the known calls appended, none twice (new calls may have shifted the pages). */
export function withNextPage(known: CallsState, page: UsagePageDto) {
  const items = known.items ?? [];
  const shown = new Set(items.map((call) => call.callId));
  return {
    items: [...items, ...page.usage.filter((call) => !shown.has(call.callId))],
    nextCursor: page.nextCursor,
  };
}

/**
 * How a call was drawn, e.g. "4:12 = 2:00 plan + 2:12 Medium (bought 3 Nov)":
 * plan seconds, each package or grant (oldest first, as drawn), then overage.
 */
export function splitText(strings: MinuteTopupStrings, format: Format, call: UsageHistoryItemDto) {
  const { duration } = format;
  const parts = [
    ...(call.fromPlanSeconds ? [strings.callPlan(duration(call.fromPlanSeconds))] : []),
    ...call.fromExtra.map((extra) =>
      extra.kind === 'grant'
        ? strings.callGrant(duration(extra.seconds), format.day(extra.purchasedAt))
        : strings.callPackage(duration(extra.seconds), extra.name, format.day(extra.purchasedAt)),
    ),
    ...(call.overageSeconds ? [strings.callOverage(duration(call.overageSeconds))] : []),
  ];
  return strings.callSplit(duration(call.seconds), parts);
}
