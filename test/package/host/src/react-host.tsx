/*
 * A React host: the components of `minute-topup/react`, and `<minute-topup>`
 * itself in JSX (React 19), both typed.
 */
import { useState } from 'react';
import { MinuteTopup, MinuteTopupBanner, MinuteTopupCard } from 'minute-topup/react';

export function Billing(props: { fetchToken: () => Promise<string> }) {
  const [bought, setBought] = useState<string[]>([]);
  return (
    <section>
      <MinuteTopup
        apiBase="/api"
        accountId="acme"
        fetchToken={props.fetchToken}
        strings={{ cardTitle: 'Extra minutes' }}
        onPurchase={(e) => setBought((b) => [...b, e.detail.purchase.packageId])}
        onError={(e) => console.log(e.detail.code)}
        authenticate={async (clientSecret) => console.log(clientSecret)}
        onAuthenticate={(e) => console.log(e.detail.clientSecret, e.detail.purchase.status)}
        onAutoTopupChange={(e) => console.log(e.detail.enabled, e.detail.monthlyLimit)}
      />
      <output id="bought">{bought.join(',')}</output>
    </section>
  );
}

export function OwnLayout() {
  return (
    <MinuteTopup apiBase="/api" accountId="acme">
      <MinuteTopupBanner />
      <MinuteTopupCard />
    </MinuteTopup>
  );
}

export function Intrinsic(props: { token: string }) {
  return (
    <minute-topup api-base="/api" account-id="acme" token={props.token} upgrade-href="/plans">
      <minute-topup-card />
    </minute-topup>
  );
}

// @ts-expect-error: on a bare tag React 18 would drop a property; use <MinuteTopup fetchToken>
export const NoProperty = () => <minute-topup fetchToken={async () => 't'} />;

// @ts-expect-error: onPurchase receives the typed purchase event
export const Wrong = () => <MinuteTopup onPurchase={(e: CustomEvent<number>) => e} />;
// @ts-expect-error: the attribute is a string
export const WrongIntrinsic = () => <minute-topup api-base={42} />;
