import { nothing } from 'lit';
import { Directive, directive, PartType, type ElementPart, type PartInfo } from 'lit/directive.js';

/**
 * Sets an element's width to a share of its container through the CSSOM,
 * never through a `style` attribute: a host with a strict Content-Security-
 * Policy (`style-src 'self'`) blocks those, and Lit's `styleMap` writes one on
 * the first render (lit/lit#4719).
 *
 * @example
 * html`<span ${fill(used / allowance)}></span>`
 */
class FillDirective extends Directive {
  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error('fill() belongs on an element');
  }

  render(_ratio: number) {
    return nothing;
  }

  update(part: ElementPart, [ratio]: [number]) {
    const share = Math.min(1, Math.max(0, ratio || 0));
    (part.element as HTMLElement).style.setProperty('width', `${100 * share}%`);
    return nothing;
  }
}

export const fill = directive(FillDirective);
