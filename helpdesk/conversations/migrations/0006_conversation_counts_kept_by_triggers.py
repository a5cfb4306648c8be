"""The inbox's counts (ConversationCount), kept by triggers on conversations_conversation: a new
conversation adds one to its (workspace, status, assignee, priority) row, a deleted one takes
one away, a change of any of those moves one from the old row to the new, the two rows locked in
one order (the smaller key first). Existing conversations are counted once, with writes to them
held off meanwhile, so that none is missed or counted twice."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARD = """
CREATE FUNCTION conversation_count_add(ws bigint, st varchar, asg bigint, pr smallint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO conversations_conversationcount AS c (workspace_id, status, assignee_id, priority, n)
  VALUES (ws, st, asg, pr, 1)
  ON CONFLICT (workspace_id, status, assignee_id, priority) DO UPDATE SET n = c.n + 1
$$;

-- A plain UPDATE: a row already deleted with its workspace or its assignee stays deleted.
CREATE FUNCTION conversation_count_take(ws bigint, st varchar, asg bigint, pr smallint) RETURNS void
LANGUAGE sql AS $$
  UPDATE conversations_conversationcount SET n = n - 1
  WHERE workspace_id = ws AND status = st AND priority = pr
    AND (assignee_id = asg OR (asg IS NULL AND assignee_id IS NULL))
$$;

CREATE FUNCTION conversation_count_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM conversation_count_add(NEW.workspace_id, NEW.status, NEW.assignee_id, NEW.priority);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM conversation_count_take(OLD.workspace_id, OLD.status, OLD.assignee_id, OLD.priority);
  ELSIF ROW(OLD.workspace_id, OLD.status, COALESCE(OLD.assignee_id, 0), OLD.priority)
        < ROW(NEW.workspace_id, NEW.status, COALESCE(NEW.assignee_id, 0), NEW.priority) THEN
    PERFORM conversation_count_take(OLD.workspace_id, OLD.status, OLD.assignee_id, OLD.priority);
    PERFORM conversation_count_add(NEW.workspace_id, NEW.status, NEW.assignee_id, NEW.priority);
  ELSE
    PERFORM conversation_count_add(NEW.workspace_id, NEW.status, NEW.assignee_id, NEW.priority);
    PERFORM conversation_count_take(OLD.workspace_id, OLD.status, OLD.assignee_id, OLD.priority);
  END IF;
  RETURN NULL;
END
$$;

LOCK TABLE conversations_conversation IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER conversation_count_insert AFTER INSERT ON conversations_conversation
  FOR EACH ROW EXECUTE FUNCTION conversation_count_changed();
CREATE TRIGGER conversation_count_delete AFTER DELETE ON conversations_conversation
  FOR EACH ROW EXECUTE FUNCTION conversation_count_changed();
CREATE TRIGGER conversation_count_update
  AFTER UPDATE OF workspace_id, status, assignee_id, priority ON conversations_conversation
  FOR EACH ROW
  WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.priority IS DISTINCT FROM NEW.priority)
  EXECUTE FUNCTION conversation_count_changed();

INSERT INTO conversations_conversationcount (workspace_id, status, assignee_id, priority, n)
SELECT workspace_id, status, assignee_id, priority, count(*)
FROM conversations_conversation GROUP BY workspace_id, status, assignee_id, priority;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS conversation_count_insert ON conversations_conversation;
DROP TRIGGER IF EXISTS conversation_count_delete ON conversations_conversation;
DROP TRIGGER IF EXISTS conversation_count_update ON conversations_conversation;
DROP FUNCTION IF EXISTS conversation_count_changed();
DROP FUNCTION IF EXISTS conversation_count_add(bigint, varchar, bigint, smallint);
DROP FUNCTION IF EXISTS conversation_count_take(bigint, varchar, bigint, smallint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_conversation_waiting_since"),
        ("workspace", "0002_workspace_moved_from_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ConversationCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=10)),
                ("priority", models.PositiveSmallIntegerField()),
                ("n", models.IntegerField(default=0)),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspace.workspace",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace", "status", "assignee", "priority"),
                        name="conversation_count_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
