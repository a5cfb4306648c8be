"""The real worker process guards the calls it makes for a workspace: OUTBOUND_PRIVATE_HOSTS
read from its environment lets one loopback provider through and not another, and the
operator's key goes to neither."""

from __future__ import annotations

import pytest

from helpdesk.ai.models import AIRun, AISettings
from helpdesk.conversations import actions, identity
from helpdesk.workspace.models import Workspace
from tests.ai.conftest import add_article
from tests.llm_stub import LLMStub
from tests.processes import Stack, stack_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

OPERATOR_KEY = "sk-operator-worker-5e4d3c2b1a-SECRET"


def finished_run(question, stack: Stack, timeout: float = 20) -> AIRun:
    return wait_for(
        lambda: AIRun.objects.filter(trigger=question).exclude(status=AIRun.Status.RUNNING).first(),
        timeout,
        message=lambda: f"the worker to answer\n{stack.output()}",
    )


def test_the_worker_reaches_only_the_private_hosts_the_operator_allowed(tmp_path):
    allowed, blocked = LLMStub().start(), LLMStub().start()
    stack = Stack(
        env={
            **stack_env(),
            "OUTBOUND_PRIVATE_HOSTS": f"127.0.0.1:{allowed.port}",
            "OPENAI_BASE_URL": "https://llm.operator.test/v1",
            "OPENAI_API_KEY": OPERATOR_KEY,
        }
    )
    try:
        questions = {}
        for stub in (allowed, blocked):
            workspace = Workspace.objects.create(name=f"Uses {stub.port}", widget_company_name="Acme")
            # Saved before the form refused it, or through the operator's Django admin: only the
            # connection-time check stands between it and the private network.
            AISettings.objects.create(workspace=workspace, base_url=stub.url, retries=0, timeout=5)
            add_article(workspace, "Shipping", "Delivery to Norway takes five to seven working days.")
            visitor, _raw = identity.start_visitor(workspace)
            questions[stub] = actions.post_customer_message(visitor, "How long does delivery to Norway take?")
        stack.start_worker(tmp_path)

        answered = finished_run(questions[allowed], stack)
        assert answered.status == AIRun.Status.ANSWERED, stack.output()
        assert allowed.authorizations == [None]  # the operator's key stays with the operator's URL

        refused = finished_run(questions[blocked], stack)
        assert refused.status == AIRun.Status.HANDED_OVER and "provider failed" in refused.reason
        assert blocked.requests == []
        assert OPERATOR_KEY not in stack.output()
    finally:
        stack.stop()
        allowed.stop()
        blocked.stop()
