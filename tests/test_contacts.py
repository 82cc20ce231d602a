"""Contact lines as units write them: a table of real-looking lines and what each yields.

Each row is a body (or the part of one that matters) with the expected responsible person's
name, phone and email; rows with all three None must not yield a contact at all (our office's
own address and number, numbers quoted from the call notice, dates, file names).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from campaign.loader import BUNDLED_CAMPAIGN, load_campaign
from intake.app import App
from intake.daily_job import write_daily_report
from parsers.contacts import extract_contact, extract_people
from parsers.model import Contact
from samples.cases import submission
from store import models as m
from validators.facts import MessageFacts
from validators.rules import contact_missing

OFFICE = ("高月、周恋彤、杨俊", "010-84665633", "zmzyz@ceec.cn")

N = None
TABLE: list[tuple[str, str | None, str | None, str | None]] = [
    # --- label glued to the value, no colon or space
    ("联系人马晶晶，电话13703712345，邮箱majj@sthjj.xjbt.gov.cn。", "马晶晶", "13703712345", "majj@sthjj.xjbt.gov.cn"),
    ("联系人：马晶晶 手机13703712345 邮箱majj@sthjj.xjbt.gov.cn", "马晶晶", "13703712345", "majj@sthjj.xjbt.gov.cn"),
    ("负责人王芳电话13812345678邮箱wangfang@163.com", "王芳", "13812345678", "wangfang@163.com"),
    ("工作负责人：李强；联系电话：0991-2345678；电子邮箱：liqiang@xj.gov.cn", "李强", "0991-2345678", "liqiang@xj.gov.cn"),
    ("联系人：赵敏\n电话：13912345678\n邮箱：zhaomin@qq.com", "赵敏", "13912345678", "zhaomin@qq.com"),
    # --- label after the value
    ("张伟（联系人） 13612345678（手机） zhangwei@126.com（邮箱）", "张伟", "13612345678", "zhangwei@126.com"),
    ("刘洋 联系人\n13712345678 手机\nliuyang@sina.com 邮箱", "刘洋", "13712345678", "liuyang@sina.com"),
    # --- 联系人及电话
    ("联系人及电话：张三 13912345678", "张三", "13912345678", N),
    ("联系人及联系方式：陈静，15012345678，chenjing@hb.gov.cn", "陈静", "15012345678", "chenjing@hb.gov.cn"),
    ("负责人及电话：周洁 0471-6945678", "周洁", "0471-6945678", N),
    # --- two people: the first responsible person is the contact
    ("联系人：孙丽 13812345670，黄磊 13912345671", "孙丽", "13812345670", N),
    ("联系人：吴刚、郑爽\n电话：13612345672、13712345673\n邮箱：wugang@163.com", "吴刚", "13612345672", "wugang@163.com"),
    ("负责人：何静（13512345674），经办人：罗斌（13612345675）", "何静", "13512345674", N),
    # --- signature blocks
    ("此致\n敬礼\n\n广东省生态环境厅应对气候变化处\n林晓\n020-87531234\nlinxiao@gdee.gov.cn", "林晓", "020-87531234", "linxiao@gdee.gov.cn"),
    ("附件请查收。\n\n郭  敏\n大气处\n手机：18612345676\n邮箱：guomin@sc.gov.cn", "郭敏", "18612345676", "guomin@sc.gov.cn"),
    ("谢谢！\n宋佳 13312345677", "宋佳", "13312345677", N),
    # --- HTML tables, as parsers.html_text linearises them (cells on their own lines)
    ("联系人\n韩雪\n手机\n13812345679\n邮箱\nhanxue@ln.gov.cn", "韩雪", "13812345679", "hanxue@ln.gov.cn"),
    ("姓名\t冯涛\t电话\t13912345680\t邮箱\tfengtao@163.com", "冯涛", "13912345680", "fengtao@163.com"),
    ("| 联系人 | 邓超 | 联系电话 | 15812345681 | 电子邮箱 | dengchao@js.gov.cn |", "邓超", "15812345681", "dengchao@js.gov.cn"),
    # --- full-width ＠ and digits, [at], (at)
    ("联系人：曹颖，电话：１３８１２３４５６８２，邮箱：caoying＠hn.gov.cn", "曹颖", "13812345682", "caoying@hn.gov.cn"),
    ("联系人：彭亮 13912345683 邮箱：pengliang[at]163.com", "彭亮", "13912345683", "pengliang@163.com"),
    ("联系人：曾琳 13512345684 email: zenglin (at) sh.gov.cn", "曾琳", "13512345684", "zenglin@sh.gov.cn"),
    ("联系人：肖红 13612345685 邮箱：xiaohong#qq.com（#换成@）", "肖红", "13612345685", N),
    # --- address or number at the very start or end of a line
    ("13712345686 田野", "田野", "13712345686", N),
    ("tianye@zj.gov.cn\n联系人：田野", "田野", N, "tianye@zj.gov.cn"),
    ("联系人：董洁，邮箱dongjie@ah.gov.cn", "董洁", N, "dongjie@ah.gov.cn"),
    ("联系电话：+86 138 1234 5687 联系人：袁梦", "袁梦", "13812345687", N),
    ("联系人：潘越 手机：139-1234-5688", "潘越", "13912345688", N),
    ("联系人：蒋华，办公电话（028）86661234，蒋华@邮箱：jianghua@sc.gov.cn", "蒋华", "028-86661234", "jianghua@sc.gov.cn"),
    ("联系人：蔡明 010-68551234转8012", "蔡明", "010-68551234-8012", N),
    ("联系人：余静 手机13812345689；传真：010-68551235", "余静", "13812345689", N),
    ("联 系 人：杜  鹃   手    机：13912345690", "杜鹃", "13912345690", N),
    ("联系人：叶青处长 13512345691 yeqing@fj.gov.cn", "叶青", "13512345691", "yeqing@fj.gov.cn"),
    ("联系人：阿依古丽·买买提 13612345692", "阿依古丽·买买提", "13612345692", N),
    ("兵团生态环境局 联系人：马晶晶 电话：13703712345 邮箱：majj@sthjj.xjbt.gov.cn", "马晶晶", "13703712345", "majj@sthjj.xjbt.gov.cn"),
    # --- lines that must not yield a contact
    ("请将材料发送至zmzyz@ceec.cn，联系电话010-84665633。", N, N, N),
    ("联系人：生态环境部宣传教育中心  高  月、周恋彤、杨  俊\n电  话：010-84665633\n邮  箱：zmzyz@ceec.cn", N, N, N),
    ("按照通知要求，2023年12月31日前报送，现将材料报上。", N, N, N),
    ("附件：北京市XX推荐表.docx、北京市XX照片（照片说明）.jpg", N, N, N),
    ("文号：环办气候函〔2023〕1234号，共3个案例，照片15张。", N, N, N),
    ("统一社会信用代码：11100000000013127H，邮编100029。", N, N, N),
    ("详见附件，谢谢！", N, N, N),
    ("传真：010-68551235", N, N, N),
    ("下载链接：https://wx.mail.qq.com/ftn/download?fid=13812345678&code=abc", N, N, N),
    ("联系人：", N, N, N),
]  # fmt: skip


@pytest.mark.parametrize(("body", "name", "phone", "email"), TABLE, ids=[r[0][:24] for r in TABLE])
def test_contact_line(body: str, name: str | None, phone: str | None, email: str | None) -> None:
    assert extract_contact(body, ignore=OFFICE) == Contact(name, phone, email)


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 40
    assert sum(1 for r in TABLE if r[1:] == (N, N, N)) >= 8


def test_every_person_is_kept_first_is_the_contact() -> None:
    body = "联系人：吴刚、郑爽\n电话：13612345672、13712345673\n邮箱：wugang@163.com"
    people = extract_people(body, ignore=OFFICE)
    assert [p.name for p in people] == ["吴刚", "郑爽"]
    assert people[0] == extract_contact(body, ignore=OFFICE)
    assert "13712345673" in {p.phone for p in people}


def test_second_person_with_own_number() -> None:
    body = "负责人：何静（13512345674），经办人：罗斌（13612345675）"
    people = extract_people(body, ignore=OFFICE)
    assert [(p.name, p.phone) for p in people] == [
        ("何静", "13512345674"),
        ("罗斌", "13612345675"),
    ]


def _missing(body: str) -> list[str]:
    facts = MessageFacts(
        campaign=load_campaign(BUNDLED_CAMPAIGN),
        kind="submission",
        subject="",
        unit=None,
        subject_deviations=(),
        contact=extract_contact(body, ignore=OFFICE),
        attachment_count=1,
        cloud_links=[],
        archive_problems=[],
        received_at=None,
    )
    return [f.detail for f in contact_missing.RULE.run(facts)]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("联系人马晶晶，电话13703712345，邮箱majj@sthjj.xjbt.gov.cn。", []),
        ("联系人：赵敏 13912345678", ["缺少：邮箱"]),
        ("邮箱zhaomin@qq.com，电话13912345678", ["缺少：姓名"]),
        ("请查收。", ["缺少：姓名、联系电话、邮箱"]),
    ],
)
def test_contact_missing_names_exactly_what_is_missing(body: str, detail: list[str]) -> None:
    assert _missing(body) == detail


def test_pipeline_keeps_the_others_and_the_report_shows_them(sqlite_app: App) -> None:
    body = "联系人：吴刚、郑爽\n电话：13612345672、13712345673\n邮箱wugang@163.com。"
    sqlite_app.pipeline.ingest(submission("北京市", body=body))
    with sqlite_app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
        assert (msg.contact_name, msg.contact_phone, msg.contact_email) == (
            "吴刚",
            "13612345672",
            "wugang@163.com",
        )
        assert msg.contacts == [{"name": "郑爽", "phone": "13712345673", "email": None}]
        codes = s.scalars(select(m.Finding.code)).all()
    assert "CONTACT_MISSING" not in codes
    page = write_daily_report(sqlite_app, date(2023, 12, 10)).read_text(encoding="utf-8")
    assert "联系人：吴刚 13612345672 wugang@163.com（另有：郑爽 13712345673）" in page
