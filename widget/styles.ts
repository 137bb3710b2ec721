import { css } from 'lit';

/**
 * Design tokens shared by every part. Public `--minute-topup-*` properties feed
 * private `--_*` ones with their fallbacks, so a host sets a token once on
 * `<minute-topup>` (or any ancestor) and every part follows. Each tinted
 * surface has an "on" colour for its text (a dark theme with light tints needs
 * dark text there), falling back to the text colour.
 */
export const base = css`
  :host {
    display: block;
    box-sizing: border-box;
    font-family: var(--minute-topup-font-family, inherit);
    font-size: var(--minute-topup-font-size, 1rem);
    line-height: 1.5;
    --_text: var(--minute-topup-color-text, #1f2328);
    --_muted: var(--minute-topup-color-muted, #59636e);
    --_surface: var(--minute-topup-color-surface, #fff);
    --_border: var(--minute-topup-color-border, #d1d9e0);
    --_accent: var(--minute-topup-color-accent, #0b57d0);
    --_on-accent: var(--minute-topup-color-on-accent, #fff);
    --_track: var(--minute-topup-color-track, #e6e9ed);
    --_info: var(--minute-topup-color-info, #e8f0fe);
    --_warning: var(--minute-topup-color-warning, #fef3c7);
    --_danger: var(--minute-topup-color-danger, #b3261e);
    --_danger-bg: var(--minute-topup-color-danger-background, #fde7e7);
    --_on-info: var(--minute-topup-color-on-info, var(--_text));
    --_on-warning: var(--minute-topup-color-on-warning, var(--_text));
    --_radius: var(--minute-topup-radius, 8px);
    --_spacing: var(--minute-topup-spacing, 1rem);
    color: var(--_text);
  }
  :host([hidden]) {
    display: none;
  }
  * {
    box-sizing: border-box;
  }
  h2 {
    font-size: 1.15em;
    margin: 0 0 calc(var(--_spacing) * 0.75);
  }
  p {
    margin: 0 0 calc(var(--_spacing) * 0.5);
  }
  button,
  a.button {
    font: inherit;
    display: inline-block;
    text-decoration: none;
    padding: calc(var(--_spacing) * 0.5) var(--_spacing);
    border-radius: var(--_radius);
    border: 1px solid var(--_accent);
    background: var(--_surface);
    color: var(--_accent);
    cursor: pointer;
  }
  .primary {
    background: var(--_accent);
    color: var(--_on-accent);
  }
  [aria-disabled='true'] {
    opacity: 0.7;
    cursor: progress;
  }
  :focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  .box {
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: var(--_spacing);
  }
  .row,
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: calc(var(--_spacing) * 0.5);
    align-items: center;
  }
  .row {
    justify-content: space-between;
  }
  .muted {
    color: var(--_muted);
  }
  .error {
    color: var(--minute-topup-color-on-danger-background, var(--_danger));
    background: var(--_danger-bg);
    border-radius: var(--_radius);
    padding: calc(var(--_spacing) * 0.5);
  }
  .failure > p {
    margin: 0 0 calc(var(--_spacing) * 0.5);
  }
  .bar {
    display: block;
    height: 0.5em;
    border-radius: 1em;
    background: var(--_track);
    overflow: hidden;
  }
  .bar > span {
    display: block;
    height: 100%;
    background: var(--_accent);
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  dialog {
    color: inherit;
    background: var(--_surface);
    border: none;
    border-radius: var(--_radius);
    padding: calc(var(--_spacing) * 1.5);
    width: min(36rem, calc(100vw - 2rem));
  }
  dialog::backdrop {
    background: var(--minute-topup-color-backdrop, rgb(0 0 0 / 0.45));
  }
`;

/** Every `::part()` name, re-exported by the root's default layout. */
export const PARTS =
  'banner,card,dialog,history,title,message,meter,meter-fill,extra,buy-button,view-button,upgrade,upgrade-link,error,notice,retry-button,package,badge,tip,cancel-button,confirm-button,table-scroll,table,bar,empty,total,close-button,tabs,tab,calls,call,more-button,auto-topup,auto-topup-button,auto-topup-editor,save-button,paused,resume-button';
