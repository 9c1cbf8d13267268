/** A message was to be added to a conversation that does not exist (or was just deleted). */
export class ConversationNotFoundError extends Error {
  override readonly name = 'ConversationNotFoundError';
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} not found`);
  }
}

/** A `cursor` that no `listConversations` call returned. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor() {
    super('cursor is not one that listing conversations returned');
  }
}
