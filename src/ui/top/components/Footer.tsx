import { footerLine, type FooterView } from '../summary.js';
import { Lines } from './Lines.js';

export type FooterProps = FooterView & { color: boolean };

/** The bottom line: keys and settings, a message, or the delay prompt. */
export function Footer(props: FooterProps) {
  return <Lines lines={[footerLine(props)]} color={props.color} />;
}
