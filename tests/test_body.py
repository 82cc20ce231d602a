"""Body reading: the responsible person's contact, and webmail large-attachment links.

The HTML and text blocks below follow the shapes QQ Mail, 163/126 and 网易企业邮箱 really send
(their compose templates and mails quoted in public mailing-list archives), with our own file
names and made-up keys.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from campaign import BUNDLED_CAMPAIGN, load_campaign
from parsers.cloud_links import find_cloud_links, parse_expiry
from parsers.contacts import extract_contact
from parsers.model import CloudLink, Contact
from parsers.phones import is_mainland_mobile
from validators.facts import MessageFacts
from validators.rules import cloud_link
from validators.rules.cloud_link import expiry_text
from validators.rules.contact_missing import missing_labels

OFFICE = ["高  月、周恋彤、杨  俊", "010-84665633", "zmzyz@ceec.cn"]

# -- mobile validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+8613812345678", "+86 138 1234 5678",
     "8619912345678", "１３８１２３４５６７８", "＋８６－１３８１２３４５６７８", "17012345678"],
)  # fmt: skip
def test_mainland_mobiles(number: str) -> None:
    assert is_mainland_mobile(number)


@pytest.mark.parametrize(
    "number",
    ["", "010-84665633", "12812345678", "1381234567", "138123456789", "+85261234567",
     "0086-13812345678x", "手机13812345678", "23812345678"],
)  # fmt: skip
def test_not_mainland_mobiles(number: str) -> None:
    assert not is_mainland_mobile(number)


# -- contact -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "高老师您好：\n附件为我省低碳发展典型案例申报材料，请查收。\n"
            "联系人：张三\n电话：13812345678\n邮箱：zhangsan@sthjt.hunan.gov.cn\n",
            Contact("张三", "13812345678", "zhangsan@sthjt.hunan.gov.cn"),
        ),
        (
            "工作负责人：李四 电话：13812345678 邮箱：x@y.cn",
            Contact("李四", "13812345678", "x@y.cn"),
        ),
        (
            "负责人 王五，联系电话 010-12345678",
            Contact("王五", "010-12345678", None),
        ),
        (
            # Full-width digits, colons and spaces straight from a Chinese IME.
            "工作负责人姓名：赵六　联系电话：１３９　１２３４　５６７８　电子邮箱：ｚｌ＠１６３．ｃｏｍ",
            Contact("赵六", "13912345678", "zl@163.com"),
        ),
        (
            "联系人：应对气候变化处 钱七\n手机：+86 186-0000-1111\nE-mail: qianqi@126.com",
            Contact("钱七", "18600001111", "qianqi@126.com"),
        ),
        (
            "联 系 人：孙  八\n座    机：(0471)6945678转8012\nEmail：sunba@nmg.gov.cn",
            Contact("孙八", "0471-6945678-8012", "sunba@nmg.gov.cn"),
        ),
        (
            # Name on one line, phone alone on the next, as in a signature.
            "此致\n敬礼\n\n周九\n15012345678\n",
            Contact("周九", "15012345678", None),
        ),
        (
            "项目负责人为吴十处长，手机号码：13700001111，邮箱 wushi@sthj.gd.gov.cn。",
            Contact("吴十", "13700001111", "wushi@sthj.gd.gov.cn"),
        ),
        (
            # Table flattened to text: each label alone on its line, the value below.
            "联系人\n郑十一\n联系电话\n0898-65236789\n邮箱\n12345678@qq.com\n",
            Contact("郑十一", "0898-65236789", "12345678@qq.com"),
        ),
        (
            "经办人：阿依古丽·买买提，电话：0991-4165432",
            Contact("阿依古丽·买买提", "0991-4165432", None),
        ),
        (
            # Office line first, mobile second: the mobile reaches the person.
            "联系人：冯二，办公电话：028-86000000，手机：13900002222",
            Contact("冯二", "13900002222", None),
        ),
        (
            "联系人：陈三、李四\n联系方式：13800003333、13800004444",
            Contact("陈三", "13800003333", None),
        ),
    ],
)
def test_contact_layouts(body: str, expected: Contact) -> None:
    assert extract_contact(body) == expected


def test_landline_without_dash_is_split_by_area_code() -> None:
    assert extract_contact("电话：01084665634").phone == "010-84665634"
    assert extract_contact("电话：057187654321").phone == "0571-87654321"


def test_fax_is_not_the_phone() -> None:
    body = "联系人：褚四\n传真：010-66556655\n电话：010-66556600"
    assert extract_contact(body).phone == "010-66556600"
    # `电话/传真` is both.
    assert extract_contact("联系人：褚四 电话/传真：010-66556600").phone == "010-66556600"


def test_qq_address_is_not_read_as_a_phone() -> None:
    contact = extract_contact("邮箱：13812345678@qq.com")
    assert contact.email == "13812345678@qq.com"
    assert contact.phone is None


def test_links_are_not_read_as_phones() -> None:
    body = "材料链接：https://pan.baidu.com/s/13812345678abc 提取码: ab12"
    assert extract_contact(body).phone is None


def test_email_labelled_wins_over_first_seen() -> None:
    body = "抄送 office@sthjt.js.gov.cn\n负责人：卫五\n邮箱：weiwu@sthjt.js.gov.cn"
    assert extract_contact(body).email == "weiwu@sthjt.js.gov.cn"


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ("联系人：蒋六", ["联系电话", "邮箱"]),
        ("电话：13812345678", ["姓名", "邮箱"]),
        ("请查收附件。", ["姓名", "联系电话", "邮箱"]),
        ("", ["姓名", "联系电话", "邮箱"]),
        ("联系人：\n电话：\n邮箱：", ["姓名", "联系电话", "邮箱"]),
        ("联系人：沈七 邮箱：shenqi@163.com", ["联系电话"]),
    ],
)
def test_missing_fields_are_listed(body: str, missing: list[str]) -> None:
    assert missing_labels(extract_contact(body)) == missing


QQ_REPLY = """补充材料已附上，请查收。

------------------ 原始邮件 ------------------
发件人: "生态环境部宣传教育中心"<zmzyz@ceec.cn>;
发送时间: 2023年12月20日(星期三) 上午10:12
收件人: "韩八"<hanba@163.com>;
主题: 回复：河北省低碳发展典型案例申报材料

您好，材料缺少推荐表扫描件。
联系人：高  月
电话：010-84665633
邮箱：zmzyz@ceec.cn
"""


def test_quoted_notice_of_ours_is_never_the_contact() -> None:
    assert extract_contact(QQ_REPLY, ignore=OFFICE) == Contact(None, None, None)
    # Even without `ignore`, the own text has nobody and the quote is our block; `ignore` is
    # what keeps our office out, so the caller must pass it.
    assert missing_labels(extract_contact(QQ_REPLY, ignore=OFFICE)) == ["姓名", "联系电话", "邮箱"]


def test_own_text_wins_over_the_quote() -> None:
    body = "联系人：韩八 13600001234\n\n" + QQ_REPLY
    assert extract_contact(body) == Contact("韩八", "13600001234", None)


@pytest.mark.parametrize(
    "separator",
    [
        "-----原始邮件-----\n发件人: 高月 [mailto:zmzyz@ceec.cn]\n发送时间: 2023年12月20日 10:12\n",
        "-------- 转发邮件信息 --------\n发件人：zmzyz@ceec.cn\n发送日期：2023-12-20 10:12:00\n",
        '在 2023-12-20 10:12:00，"生态环境部宣传教育中心" <zmzyz@ceec.cn> 写道：\n',
        "On Wed, Dec 20, 2023 at 10:12 AM 高月 <zmzyz@ceec.cn> wrote:\n",
        "________________________________\n发件人: 高月 <zmzyz@ceec.cn>\n发送时间: 2023年12月20日 10:12\n收件人: 韩八\n",
    ],
)
def test_quote_markers_cut_the_own_text(separator: str) -> None:
    body = (
        "工作负责人：韩八，手机 13600001234\n\n" + separator + "联系人：杨俊\n电话：13911112222\n"
    )
    assert extract_contact(body) == Contact("韩八", "13600001234", None)


def test_angle_quoted_lines_are_ignored() -> None:
    body = "负责人：秦九 15900001111\n> 联系人：杨俊\n> 邮箱：zmzyz@ceec.cn\n"
    assert extract_contact(body) == Contact("秦九", "15900001111", None)


def test_bare_forward_reads_the_forwarded_submission() -> None:
    # The province forwards a county's mail without writing anything itself.
    body = (
        "\n\n-------- 转发邮件信息 --------\n"
        '发件人："许十" <xushi@sina.com>\n发送日期：2023-12-18 09:00:00\n'
        "收件人：zmzyz@ceec.cn\n主题：山西省低碳发展典型案例申报材料\n\n"
        "联系人：许十\n电话：13512345678\n邮箱：xushi@sina.com\n"
    )
    assert extract_contact(body) == Contact("许十", "13512345678", "xushi@sina.com")


def test_office_signature_in_own_text_is_ignored() -> None:
    body = "联系人：高  月\n电话：010-84665633\n邮箱：zmzyz@ceec.cn"
    assert extract_contact(body, ignore=OFFICE) == Contact(None, None, None)
    assert extract_contact(body) == Contact("高月", "010-84665633", "zmzyz@ceec.cn")


# -- large-attachment links ----------------------------------------------------------------------


class Seen(NamedTuple):
    """A found link as staff read it: its expiry worded as CLOUD_LINK words it."""

    provider: str
    url: str
    file_name: str | None = None
    size: str | None = None
    expires: str | None = None
    code: str | None = None


def seen(links: list[CloudLink]) -> list[Seen]:
    return [
        Seen(
            link.provider, link.url, link.file_name, link.size, expiry_text(link.expiry), link.code
        )
        for link in links
    ]


QQ_URL_1 = "https://wx.mail.qq.com/ftn/download?func=3&k=6a3f0c1e&key=6a3f0c1e&code=1a2b3c4d"
QQ_URL_2 = "https://mail.qq.com/cgi-bin/ftnExs_download?t=exs_ftn_download&k=0c5d&code=7684decd"


def _qq_item(url: str, name: str, size: str, title_exp: str, desc: str, expiretime: str) -> str:
    href = url.replace("&", "&amp;")
    return (
        '<div style="padding:10px 0;font-size:12px;">'
        f'<div title="{name}&#10;&#13;文件大小：{size}&#10;&#13;到期时间：{title_exp}" class="bigatt_bt">'
        '<div style="float:left;margin:2px 8px 0 0;">'
        f'<a target="_blank" href="{href}"><img border="0" '
        'src="https://res.mail.qq.com/zh_CN/htmledition/images/fj/fu_rar.gif"/></a></div>'
        '<div class="name_big">'
        f'<span class=\'qqmailbgattach\' expiretime="{expiretime}" downloadlink="{href}">'
        f'<a style="color:#000;text-decoration:none;" target="_blank" href="{href}">{name}</a>'
        f'<span style="color:#A0A0A0;"> ({size}, {desc})</span></span>'
        f'<div class="down_big"><a target="_blank" href="{href}">查看下载信息</a>'
        f'<span style="display:none;">：{href}</span></div></div></div></div>'
    )


QQ_HTML = (
    "<html><head><style>#divNeteaseBigAttach{display:none}</style></head><body>"
    "<div>高老师好：</div><div>视频较大，通过超大附件发送。</div>"
    '<div id=QQMailBigAttach style="padding: 2px; margin-bottom: 15px;background-color:#E0ECF9;">'
    '<hr style="display:none;" />'
    '<div style="text-align:left;padding: 6px 0pt 10px 6px;"><b style="font-size: 14px;">'
    '<img border="0" align="absmiddle" src="https://res.mail.qq.com/zh_CN/htmledition/images/icon_att.gif"/>'
    "从QQ邮箱发来的超大附件</b></div>"
    '<div style="padding: 0pt 8px 6px 12px;background:#fff;"><div style="clear:both;">'
    + _qq_item(QQ_URL_1, "北京市XX推荐材料.zip", "286.35M", "2024年01月18日 15:05",
               "2024年01月18日 15:05 到期", "1705561500")
    + _qq_item(QQ_URL_2, "北京市XX视频.mp4", "1.2G", "", "无限期", "-1")
    + "</div></div></div></body></html>"
)  # fmt: skip

QQ_TEXT = f"""高老师好：
视频较大，通过超大附件发送。

从QQ邮箱发来的超大附件

北京市XX推荐材料.zip (286.35M, 2024年01月18日 15:05 到期)进入下载页面：{QQ_URL_1}

北京市XX视频.mp4 (1.2G, 无限期)进入下载页面：{QQ_URL_2}
"""

QQ_EXPECTED = [
    Seen("QQ邮箱超大附件", QQ_URL_1, "北京市XX推荐材料.zip", "286.35M", "2024-01-18 15:05"),
    Seen("QQ邮箱超大附件", QQ_URL_2, "北京市XX视频.mp4", "1.2G", "无限期"),
]


def test_qq_html_block() -> None:
    assert seen(find_cloud_links("", QQ_HTML)) == QQ_EXPECTED


def test_qq_plain_text_block() -> None:
    assert seen(find_cloud_links(QQ_TEXT, "")) == QQ_EXPECTED


def test_qq_text_and_html_together_give_each_file_once() -> None:
    assert seen(find_cloud_links(QQ_TEXT, QQ_HTML)) == QQ_EXPECTED


def test_qq_css_id_alone_yields_nothing() -> None:
    # QQ's ordinary mail template carries 163's block id in its CSS, with no link behind it.
    html = (
        '<html><head><style type="text/css">#divNeteaseBigAttach{display:none}'
        '#QQMailBigAttach{}</style></head><body><div id="divNeteaseBigAttach"></div>'
        "<div>高老师好：附件为天津市申报材料，请查收。</div>"
        "<div>联系人：孔二 13800001111</div></body></html>"
    )
    text = "高老师好：附件为天津市申报材料，请查收。\n联系人：孔二 13800001111\n"
    assert find_cloud_links(text, html) == []


def test_word_large_attachment_without_marker_or_link_yields_nothing() -> None:
    assert find_cloud_links("材料较大，稍后通过超大附件补发。", "<p>超大附件</p>") == []


N163_URL_1 = (
    "https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT"
    "&file=Sy2W9lTU-w7vguqZrlWFpokrrFG4wg5E&title=%E6%B2%B3%E5%8C%97"
)
N163_URL_2 = (
    "https://mail.126.com/large-attachment-download/index.html?p=X-NTES-HUGE-ATTACHMENT"
    "&file=Sy2W9lTU-w7vguqZrlWFpiA1lNE2Ud3W&title=%E6%B2%B3%E5%8C%97"
)


def _n163_item(url: str, name: str, size_bytes: int, size: str, expire_ms: int, exp: str) -> str:
    href = url.replace("&", "&amp;")
    preview = url.replace(
        "large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&", "fs/preview/?"
    )
    return (
        '<div style="clear:both;height:36px;padding:6px 4px">'
        f'<div style="float:left;width:36px"><a href="{href}">'
        '<img src="https://mimg.127.net/xm/all/fj/ico-bfile-28.gif" border="0"></a></div><div>'
        '<div style="padding:0px;font-size:12px;line-height:14px">'
        f'<a href="{href}" download="{href}" preview="{preview.replace("&", "&amp;")}" '
        f'fileid="undefined" filename="{name}" filesize="{size_bytes}" expiretime="{expire_ms}" '
        f'target="_blank" style="color:#000;text-decoration:none">{name}</a>'
        f'<span style="color:#bbb"> ({size}, {exp} 到期)</span></div>'
        '<div style="padding:4px 0px;font-size:12px;line-height:14px">'
        f'<a href="{preview.replace("&", "&amp;")}">在线预览</a> | <a href="{href}">下载</a></div>'
        "</div></div>"
    )


N163_HTML = (
    '<div style="line-height:1.7;color:#000000;font-size:14px;font-family:Arial">'
    "<p>您好，河北省申报材料见下方超大附件。</p><p>联系人：韩八 13600001234</p></div>"
    '<div id="divNeteaseBigAttach" style="clear:both;margin-top:10px;margin-bottom:15px;'
    'background:#DEE8F2;padding:4px;font-family:verdana,Arial,Helvetica,sans-serif">'
    '<div style="font-size:14px;padding:4px 8px 8px 8px;line-height:16px"><b>从网易163邮箱发来的超大附件</b>'
    '<a class="bigattach-mailmaster-download" href="http://u.163.com/RcUwvU56g?spm=pos.free_webmail_1">'
    "推荐客户端极速下载</a></div>"
    '<div style="background:#fff;padding:4px">'
    + _n163_item(N163_URL_1, "河北省XX推荐材料.zip", 3781934, "3.61M", 1703900460000,
                 "2023年12月30日 9:41")
    + _n163_item(N163_URL_2, "河北省XX视频.mp4", 18342554, "17.49M", 1703900460000,
                 "2023年12月30日 9:41")
    + "</div></div>"
)  # fmt: skip

# 163's plain-text alternative: every link three times, and `(size, \n date 到期)` wrapped.
N163_TEXT = f"""您好，河北省申报材料见下方超大附件。
联系人：韩八 13600001234

*从网易163邮箱发来的超大附件*
<{N163_URL_1}>
河北省XX推荐材料.zip <{N163_URL_1}>(3.61M,
2023年12月30日 9:41 到期)
在线预览 <https://mail.163.com/fs/preview/?file=Sy2W9lTU-w7vguqZrlWFpokrrFG4wg5E> | 下载
<{N163_URL_1}>
<{N163_URL_2}>
河北省XX视频.mp4 <{N163_URL_2}>(17.49M,
2023年12月30日 9:41 到期)
在线预览 <https://mail.163.com/fs/preview/?file=Sy2W9lTU-w7vguqZrlWFpiA1lNE2Ud3W> | 下载
<{N163_URL_2}>
"""

N163_EXPECTED = [
    Seen("网易邮箱超大附件", N163_URL_1, "河北省XX推荐材料.zip", "3.61M", "2023-12-30 09:41"),
    Seen("网易邮箱超大附件", N163_URL_2, "河北省XX视频.mp4", "17.49M", "2023-12-30 09:41"),
]


def test_163_html_block_dedupes_and_unescapes() -> None:
    links = find_cloud_links("", N163_HTML)
    assert seen(links) == N163_EXPECTED
    assert all("&amp;" not in link.url for link in links)


def test_163_plain_text_block() -> None:
    assert seen(find_cloud_links(N163_TEXT, "")) == N163_EXPECTED


def test_163_both_parts() -> None:
    assert seen(find_cloud_links(N163_TEXT, N163_HTML)) == N163_EXPECTED


def test_163_quoted_in_a_forward_still_counts() -> None:
    quoted = "转发给您。\n\n" + "\n".join("> " + line for line in N163_TEXT.splitlines())
    assert [link.url for link in find_cloud_links(quoted, "")] == [N163_URL_1, N163_URL_2]


def test_163_attributes_fill_in_when_the_text_is_gone() -> None:
    # Some clients drop the grey `(size, date 到期)` span when forwarding; the link keeps its
    # filename/filesize/expiretime attributes.
    html = N163_HTML.replace(" (3.61M, 2023年12月30日 9:41 到期)", "")
    first = seen(find_cloud_links("", html))[0]
    assert first == Seen("网易邮箱超大附件", N163_URL_1, "河北省XX推荐材料.zip", "3.61M",
                              "2023-12-30 09:41")  # fmt: skip


def test_163_newer_link_without_p_parameter() -> None:
    url = "https://mail.163.com/large-attachment-download/index.html?file=djAyZG1meTh2"
    html = (
        "<div><b>从网易163邮箱发来的超大附件</b></div>"
        f'<div><a href="{url}">辽宁省XX照片.zip</a>'
        '<span style="color:#bbb"> (80.96M, 2024年1月7日 0:49 到期)</span></div>'
    )
    assert seen(find_cloud_links("", html)) == [
        Seen("网易邮箱超大附件", url, "辽宁省XX照片.zip", "80.96M", "2024-01-07 00:49")
    ]


def test_netease_enterprise_cloud_attachment() -> None:
    url = (
        "https://edisk.qiye.163.com/api/biz/attachment/download?identity="
        "e7bb4414a8c248bcaeb376a72e0595b8&title=%E4%BC%81%E4%B8%9A"
    )
    href = url.replace("&", "&amp;")
    html = (
        '<div id="divNeteaseSiriusCloudAttach"><div><b>从网易企业邮箱发来的云附件</b></div>'
        f'<div style="width: 392px;"><a href="{href}"><img src="https://mimg.127.net/xm/all/fj/'
        'ico-bfile-3.gif" title="云附件"></a><div><div>'
        f'<a href="{href}" target="_blank" download="{href}">福建省XX推荐表.docx</a></div>'
        '<div style="opacity: 0.4;">20.49K&nbsp;|&nbsp;过期时间：2024年1月4日 23:48</div>'
        '<a href="https://mailh.qiye.163.com/edisk/api/biz/attachment/generic/preview?&amp;'
        'identity=e7bb4414a8c248bcaeb376a72e0595b8"><img src="x.png" title="预览"></a>'
        f'</div></div><a class="divNeteaseSiriusCloudAttachItem" href="{href}" '
        'file-name="福建省XX推荐表.docx" file-size="20977" expired="1704383286117">下载</a></div>'
    )
    assert seen(find_cloud_links("", html)) == [
        Seen("网易企业邮箱", url, "福建省XX推荐表.docx", "20.49K", "2024-01-04 23:48")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "材料见天翼云盘：https://download.cloud.189.cn/file/downloadFile.action?dt=51&expired=1703900460000&sk=abc",
            Seen(
                "天翼云盘",
                "https://download.cloud.189.cn/file/downloadFile.action?dt=51&expired=1703900460000&sk=abc",
                expires="2023-12-30 09:41",
            ),
        ),
        (
            "下载：http://mail.sina.com.cn/filecenter/download.php?id=8d0a6f&key=3e1。谢谢",
            Seen("新浪邮箱", "http://mail.sina.com.cn/filecenter/download.php?id=8d0a6f&key=3e1"),
        ),
        (
            "OneDrive 链接：https://1drv.ms/u/s!AkR8YpT3x0cEgQ?e=Ab12Cd",
            Seen("OneDrive", "https://1drv.ms/u/s!AkR8YpT3x0cEgQ?e=Ab12Cd"),
        ),
        (
            "通过百度网盘分享的文件：陕西省低碳案例材料\n链接：https://pan.baidu.com/s/1AbCdEfGhIjK-lmn 提取码：x7k9\n"
            "--来自百度网盘超级会员v5的分享",
            Seen("百度网盘", "https://pan.baidu.com/s/1AbCdEfGhIjK-lmn", "陕西省低碳案例材料", code="x7k9"),
        ),
        (
            "链接: https://pan.baidu.com/s/1QwErTy?pwd=ab12 复制这段内容后打开百度网盘手机App",
            Seen("百度网盘", "https://pan.baidu.com/s/1QwErTy?pwd=ab12", code="ab12"),
        ),
    ],
)  # fmt: skip
def test_other_providers(text: str, expected: Seen) -> None:
    assert seen(find_cloud_links(text, "")) == [expected]


def test_onedrive_link_text_is_the_file_name() -> None:
    html = '<p>材料：<a href="https://1drv.ms/f/s!AkR8Yp">甘肃省案例材料</a></p>'
    assert seen(find_cloud_links("", html)) == [
        Seen("OneDrive", "https://1drv.ms/f/s!AkR8Yp", "甘肃省案例材料")
    ]


def test_government_mail_system_link_counts_only_under_the_marker() -> None:
    url = "https://mail.sthjt.gxzf.gov.cn/coremail/common/nfFile.jsp?share_link=5A1B2C&uid=x"
    text = f"从广西生态环境厅邮箱发来的超大附件\n\n广西XX推荐材料.zip (500.00M, 2024年1月1日 12:00 到期)\n下载地址：{url}\n"
    assert seen(find_cloud_links(text, "")) == [
        Seen("广西生态环境厅邮箱超大附件", url, "广西XX推荐材料.zip", "500.00M", "2024-01-01 12:00")
    ]
    # The same host in an ordinary sentence is just a link.
    assert find_cloud_links(f"请登录 {url} 查看", "") == []


def test_marker_without_link_still_reported() -> None:
    # A forward that lost the block's links: staff still need to know.
    assert seen(
        find_cloud_links("从QQ邮箱发来的超大附件\n\n北京市XX推荐材料.zip (286.35M)\n", "")
    ) == [Seen("QQ邮箱超大附件", "")]


def test_ordinary_links_are_not_cloud_links() -> None:
    text = "详见 https://www.mee.gov.cn/ 和 http://www.ceec.cn/index.html"
    assert find_cloud_links(text, f'<a href="https://www.mee.gov.cn/">{text}</a>') == []


def test_cloud_link_rule_words_the_expiry_and_carries_it_as_data() -> None:
    facts = MessageFacts(
        campaign=load_campaign(BUNDLED_CAMPAIGN),
        kind="submission",
        subject="",
        unit=None,
        subject_deviations=(),
        contact=Contact(None, None, None),
        attachment_count=0,
        cloud_links=find_cloud_links(N163_TEXT, "") + find_cloud_links(QQ_TEXT, ""),
        archive_problems=[],
        received_at=None,
    )
    findings = cloud_link.RULE.run(facts)
    assert findings[0].detail == (
        f"网易邮箱超大附件，河北省XX推荐材料.zip，3.61M，到期：2023-12-30 09:41；{N163_URL_1}"
    )
    assert findings[0].data == {
        "expires_at": "2023-12-30T09:41:00+08:00",
        "never_expires": False,
        "url": N163_URL_1,
        "provider": "网易邮箱超大附件",
    }
    assert "，到期：无限期；" in findings[3].detail
    assert findings[3].data["never_expires"] is True
    assert findings[3].data["expires_at"] is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022年11月25日 13:35", "2022-11-25 13:35"),
        ("2024年1月7日 0:49", "2024-01-07 00:49"),
        ("2024-08-04 13:56:45", "2024-08-04 13:56"),
        ("2024年8月4日", "2024-08-04"),
        ("无限期", "无限期"),
        ("永久", "无限期"),
        ("下周一", "下周一"),
        (None, None),
        ("", None),
    ],
)
def test_expiry_normalisation(raw: str | None, expected: str | None) -> None:
    assert expiry_text(parse_expiry(raw)) == expected


@pytest.mark.parametrize(
    "body",
    [
        "大气环境处\n010-66553322",
        "北京市生态环境局\n13812345678",
        "此致\n敬礼\n13812345678",
        "如有问题请与联系人联系。",
        "负责人签字：\n盖章：",
    ],
)
def test_no_name_guessed_from_departments_or_prose(body: str) -> None:
    assert extract_contact(body).name is None


def test_name_right_before_the_number_on_one_line() -> None:
    assert extract_contact("谢谢！\n刘一 13900001234").name == "刘一"


def test_long_bodies_stay_fast() -> None:
    import time

    body = (
        "这是很长的正文，没有联系人。2023年12月1日 数字 123456 " * 20000
    ) + "\n联系人：钟二 13800002222"
    html = "<div>" + ("<p>正文 <a href='https://www.mee.gov.cn/'>链接</a></p>" * 5000) + "</div>"
    started = time.perf_counter()
    assert extract_contact(body).name == "钟二"
    assert find_cloud_links(body, html) == []
    assert time.perf_counter() - started < 5
