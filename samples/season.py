"""The demo's sample season: nine mails of December 2023, as the office really gets them.

Good submissions from several units in every category, and the typical faults (see
FIELD-NOTES) — zip member names in GBK without the UTF-8 flag, a `.doc` form, an over-long
案例简介, a missing stamped scan, a photo over 5 MB, a video over three minutes, a photo without
a caption, a webmail large-attachment link, an out-of-office auto-reply, a sender no unit can be
found for, a contact line without an email address, and a resubmission that replaces an earlier
case.  This module only says what each mail holds; `samples.generate` makes the files.
Addresses use the reserved `.example` domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

# Bump when the samples change, so an old demo folder is regenerated.
DEMO_VERSION = "3"
BEIJING = timezone(timedelta(hours=8))
# Made-up contacts for the forms: a different one per case, the same on every run.
CONTACTS = ("张伟", "李娜", "王芳", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周强", "吴霞")

_CLOUD_URL = (
    "https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT"
    "&file=demo2023guangdongLowCarbonCases"
)


@dataclass
class SampleCase:
    """One case folder: its form's content and what is wrong with its files, if anything."""

    name: str
    category: str
    applicant: str
    captions: tuple[str, ...]
    intro: str
    photos: int = 3
    video_s: int | None = 12
    scan: bool = True
    form_ext: str = ".docx"
    big_photo: bool = False
    uncaptioned_photo: bool = False
    tick: str = "√"


@dataclass
class SampleMail:
    """One mail of the season: who sends it when, what it says, and the cases it carries."""

    slug: str
    when: datetime
    sender: tuple[str, str]
    subject: str
    body: str
    unit: str | None = None
    cases: list[SampleCase] = field(default_factory=list)
    # "per-case": one zip per case (the call's way); "one-gbk": one zip, a folder per case,
    # names in GBK without the UTF-8 flag (Chinese Windows' "send to compressed folder").
    packing: str = "per-case"
    candidate_list: bool = True
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    note: str = ""


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2023, 12, day, hour, minute, tzinfo=BEIJING)


def _intro(topic: str, category: str, paragraphs: int = 3) -> str:
    """A plausible 案例简介 of a few hundred characters, shaped as the call asks per category."""
    openers = {
        "park": f"{topic}以“减污降碳协同增效”为目标，统筹园区产业结构、能源结构与基础设施建设。",
        "enterprise": f"{topic}立足企业主业，建立了由主要负责人牵头的绿色低碳工作机制和岗位责任制。",
        "community": f"{topic}坚持“共建共治共享”的社区低碳理念，发动居民、物业和驻区单位共同参与。",
        "individual": f"{topic}多年来坚持绿色低碳生活方式，并带动身边的人一起践行。",
    }
    body = [
        "一是完善制度，制定年度低碳发展目标和实施方案，明确责任分工和考核办法；",
        "二是推进能源清洁化，建成分布式光伏和储能设施，可再生能源使用比例逐年提高；",
        "三是加强宣传教育，每年组织低碳主题活动十余场，参与人数累计超过五千人次。",
        "通过上述措施，近三年单位能耗下降约百分之十二，年减少二氧化碳排放约三千吨，"
        "相关做法被省级媒体报道，具有较好的可复制可推广价值。",
    ]
    text = [openers[category]]
    for i in range(paragraphs):
        text.append(body[i % len(body)])
    return "\n".join(text)


def _long_intro(topic: str) -> str:
    """Well over the 2,000-character limit, as units write when they paste a whole report."""
    base = _intro(topic, "community", 4)
    parts = [base]
    while sum(len(p) for p in parts) < 2400:
        parts.append(
            "在具体实施过程中，社区以楼栋为单元建立低碳志愿服务队，开展入户宣传、旧物交换、"
            "节水节电竞赛和垃圾分类积分兑换等活动，并对既有建筑实施外墙保温、屋顶绿化和"
            "公共照明改造，持续跟踪记录能耗与排放数据，形成了可量化、可核查的减排成效。"
        )
    return "\n".join(parts)


CAPTIONS = {
    "park": (
        "园区屋顶分布式光伏全景",
        "智慧能源管理平台监控中心",
        "园区储能电站",
        "污水集中处理设施",
    ),
    "enterprise": (
        "余热回收发电机组",
        "能源计量管控中心",
        "厂区光伏车棚",
        "清洁生产改造后的生产线",
    ),
    "community": ("社区垃圾分类驿站", "居民屋顶光伏", "低碳宣传活动现场", "雨水收集花园"),
    "individual": ("带领志愿者植树", "低碳知识进校园宣讲", "骑行倡导活动", "社区节能课堂"),
}


def _case(
    name: str, category: str, applicant: str, *, intro: str | None = None, **kw: object
) -> SampleCase:
    return SampleCase(
        name=name,
        category=category,
        applicant=applicant,
        captions=CAPTIONS[category],
        intro=intro if intro is not None else _intro(name, category),
        **kw,  # type: ignore[arg-type]
    )


def _contact(name: str, mobile: str, email: str | None) -> str:
    lines = ["您好！", "现报送我单位绿色低碳典型案例推荐材料，请查收。", ""]
    lines.append(f"工作负责人：{name}")
    lines.append(f"联系电话：{mobile}")
    if email:
        lines.append(f"邮箱：{email}")
    return "\n".join(lines)


def season() -> list[SampleMail]:
    """The sample mail, oldest first."""
    bj = "北京市"
    jinsong_v1 = _case("劲松小区老旧楼宇节能改造", "community", "朝阳区劲松街道办事处", photos=2)
    jinsong_v2 = _case("劲松小区老旧楼宇节能改造", "community", "朝阳区劲松街道办事处", photos=3)
    return [
        SampleMail(
            slug="beijing",
            when=_at(1, 9, 12),
            sender=("王磊", "wanglei@sthjj.beijing.example"),
            subject=f"{bj}低碳发展典型案例申报材料",
            body=_contact("王磊", "13910012345", "wanglei@sthjj.beijing.example"),
            unit=bj,
            cases=[
                _case("中关村零碳科技园区建设实践", "park", "中关村科技园区管理委员会"),
                _case("亦庄经开区循环化改造示范", "park", "北京经济技术开发区管理委员会"),
                _case("数据中心液冷节能改造", "enterprise", "北京某某云计算有限公司", video_s=25),
                _case("公交车队全面电动化", "enterprise", "北京某某公共交通集团有限公司"),
                _case("回龙观社区垃圾分类与光伏共建", "community", "昌平区回龙观街道办事处"),
                jinsong_v1,
                _case("“骑行上班”十年低碳宣讲", "individual", "李晓明", video_s=None),
                _case("退休教师的社区节能课堂", "individual", "赵淑芬", video_s=None, tick="☑"),
            ],
            note="a complete unit: 8 cases, one zip per case, a candidate list",
        ),
        SampleMail(
            slug="hebei",
            when=_at(4, 15, 40),
            sender=("刘洋", "liuyang@sthjt.hebei.example"),
            subject="回复：河北低碳发展典型案例申报材料（2023）",
            body=_contact("刘洋", "0311-87654321 / 13731112222", "liuyang@sthjt.hebei.example"),
            unit="河北省",
            packing="one-gbk",
            cases=[
                _case("曹妃甸循环经济产业园区", "park", "唐山市曹妃甸区管理委员会"),
                _case("雄安绿色建筑示范园区", "park", "雄安新区某某建设有限公司"),
                _case("钢铁企业余热余压综合利用", "enterprise", "河北某某钢铁集团有限公司"),
                _case("光伏组件绿色制造工厂", "enterprise", "河北某某新能源科技有限公司"),
            ],
            note="one zip with a folder per case, member names in GBK without the UTF-8 flag",
        ),
        SampleMail(
            slug="jiangsu",
            when=_at(6, 10, 5),
            sender=("陈静", "chenjing@sthjt.jiangsu.example"),
            subject="江苏省低碳发展典型案例申报材料",
            body=_contact("陈静", "025-86661234", "chenjing@sthjt.jiangsu.example"),
            unit="江苏省",
            cases=[
                _case(
                    "苏州工业园区低碳社区营造", "community", "苏州工业园区某某社区", form_ext=".doc"
                ),
                _case(
                    "鼓楼区零碳社区试点",
                    "community",
                    "南京市鼓楼区某某社区居民委员会",
                    intro=_long_intro("鼓楼区零碳社区试点"),
                ),
            ],
            note="a .doc form (converted with LibreOffice) and an intro over 2,000 characters",
        ),
        SampleMail(
            slug="zhejiang",
            when=_at(8, 11, 20),
            sender=("周敏", "zhoumin@sthjt.zhejiang.example"),
            subject="浙江省低碳发展典型案例申报材料",
            body=_contact("周敏", "13857001234", "zhoumin@sthjt.zhejiang.example"),
            unit="浙江省",
            cases=[
                _case("纺织印染企业清洁生产改造", "enterprise", "绍兴某某印染有限公司", scan=False),
                _case(
                    "新能源汽车零部件绿色工厂",
                    "enterprise",
                    "宁波某某汽车零部件有限公司",
                    big_photo=True,
                ),
                _case(
                    "安吉竹产业低碳园区",
                    "park",
                    "安吉某某竹产业园区管理委员会",
                    video_s=190,
                    uncaptioned_photo=True,
                ),
            ],
            note="a missing stamped scan, a 5.3 MB photo, a 3:10 video, a photo without caption",
        ),
        SampleMail(
            slug="guangdong",
            when=_at(11, 16, 2),
            sender=("黄志强", "huangzq@163.example"),
            subject="广东省低碳发展典型案例申报材料",
            body=_contact("黄志强", "13822223333", "huangzq@163.example")
            + "\n\n材料较大，通过超大附件发送，请及时下载。\n\n"
            + "*从网易163邮箱发来的超大附件*\n"
            + f"<{_CLOUD_URL}>\n"
            + f"广东省低碳案例推荐材料.zip <{_CLOUD_URL}>(48.20M,\n2023年12月24日 16:02 到期)\n"
            + f"下载 <{_CLOUD_URL}>\n",
            unit="广东省",
            candidate_list=False,
            note="materials only as a 163 large-attachment link, expiring 2023-12-24",
        ),
        SampleMail(
            slug="sichuan-autoreply",
            when=_at(12, 9, 0),
            sender=("四川省生态环境厅", "sthjt@sichuan.example"),
            subject="自动回复：关于报送绿色低碳典型案例的提醒",
            body="您好，您的来信已收到。本人近期外出，将于返回后尽快处理。",
            headers=(("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")),
            candidate_list=False,
            note="an out-of-office auto-reply (never answered)",
        ),
        SampleMail(
            slug="bingtuan",
            when=_at(13, 14, 30),
            sender=("艾力", "12345678@qq.example"),
            subject="兵团低碳案例申报材料",
            body=_contact("艾力", "13999887766", None),
            unit="新疆生产建设兵团",
            candidate_list=False,
            cases=[_case("戈壁植树二十年的护林员", "individual", "买买提·艾力", video_s=None)],
            note="short unit name in the subject, no email in the contact line, no list",
        ),
        SampleMail(
            slug="unknown-sender",
            when=_at(15, 20, 45),
            sender=("", "lowcarbon2023@qq.example"),
            subject="申报材料",
            body="您好，附件是我们的案例材料。\n联系人：孙丽 13688889999 sunli@qq.example",
            unit=None,
            candidate_list=False,
            cases=[_case("社区光伏共享项目", "community", "某某社区居民委员会")],
            note="no unit in subject, sender or file names",
        ),
        SampleMail(
            slug="beijing-resubmission",
            when=_at(18, 10, 10),
            sender=("王磊", "wanglei@sthjj.beijing.example"),
            subject=f"{bj}低碳发展典型案例申报材料（劲松小区案例更正）",
            body=_contact("王磊", "13910012345", "wanglei@sthjj.beijing.example")
            + "\n\n劲松小区案例照片已补齐，请以此版为准。",
            unit=bj,
            candidate_list=False,
            cases=[jinsong_v2],
            note="a corrected case that replaces the earlier version",
        ),
    ]
