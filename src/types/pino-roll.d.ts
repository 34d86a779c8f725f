// pino-roll 4 ships no types; the part we use: an async factory of a SonicBoom stream.
declare module 'pino-roll' {
  import type { SonicBoom, SonicBoomOpts } from 'sonic-boom';
  interface PinoRollOptions extends Omit<SonicBoomOpts, 'dest'> {
    file: string;
    size?: string | number;
    frequency?: string | number;
    extension?: string;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    symlink?: boolean;
    dateFormat?: string;
    mkdir?: boolean;
  }
  export default function pinoRoll(opts: PinoRollOptions): Promise<SonicBoom>;
}
