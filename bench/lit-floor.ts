// The floor for the bundle size: Lit and @lit/context alone, used just enough
// that nothing is tree-shaken away.
import { createContext, consume, provide } from '@lit/context';
import { css, html, LitElement } from 'lit';
import { property, state } from 'lit/decorators.js';

const ctx = createContext<number>('floor');

export class FloorRoot extends LitElement {
  static styles = css`
    :host {
      display: block;
    }
  `;
  @provide({ context: ctx }) @state() value = 1;
  @property() label = '';
  render() {
    return html`<slot></slot>${this.label}`;
  }
}
export class FloorLeaf extends LitElement {
  @consume({ context: ctx, subscribe: true }) value?: number;
  render() {
    return html`${this.value}`;
  }
}
customElements.define('floor-root', FloorRoot);
customElements.define('floor-leaf', FloorLeaf);
