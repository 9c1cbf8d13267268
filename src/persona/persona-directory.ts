import type { NamedPersonaConfig } from '../config/config.js';
import { GatewayError } from '../contracts/gateway-error.js';

/** A persona with its name; `options` are further Ollama options besides temperature and the token cap. */
export type NamedPersona = NamedPersonaConfig;

/** The personas a client may choose by name; `default` is the one configured by environment variables. */
export class PersonaDirectory {
  private readonly byName: Map<string, NamedPersona>;

  constructor(personas: NamedPersona[]) {
    this.byName = new Map(personas.map((persona) => [persona.name, persona]));
  }

  list(): NamedPersona[] {
    return [...this.byName.values()];
  }

  /** The named persona (`default` when none is named), or 400 naming the ones there are. */
  resolve(name: string | undefined): NamedPersona {
    const persona = this.byName.get(name ?? 'default');
    if (persona) return persona;
    throw new GatewayError(
      'bad_request',
      400,
      `persona '${name}' does not exist; personas: ${[...this.byName.keys()].join(', ')}`,
      { param: 'persona' },
    );
  }
}
