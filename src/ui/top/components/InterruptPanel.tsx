import { panelLines, type PanelView } from '../panel.js';
import { Lines } from './Lines.js';

export type InterruptPanelProps = PanelView & { color: boolean };

/** The selected domain's interrupts: by vCPU and source (heat map) or over the last minute (sparklines). */
export function InterruptPanel(props: InterruptPanelProps) {
  return <Lines lines={panelLines(props)} color={props.color} />;
}
