/* A Preact host: `minute-topup/preact` types the elements in Preact's JSX. */
import 'minute-topup/preact';

export function Billing(props: { fetchToken: () => Promise<string> }) {
  return (
    <minute-topup
      api-base="/api"
      account-id="acme"
      fetchToken={props.fetchToken}
      authenticate={async (clientSecret) => console.log(clientSecret)}
      onminute-topup-purchase={(e) => console.log(e.detail.purchase.id)}
    >
      <minute-topup-banner />
    </minute-topup>
  );
}

// @ts-expect-error: the attribute is a string
export const Wrong = () => <minute-topup account-id={7} />;
