	.file	"<string>"
	.section	.rodata.cst16,"aM",@progbits,16
	.p2align	4, 0x0
.LCPI0_0:
	.byte	2
	.byte	5
	.byte	8
	.byte	11
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
	.zero	1
.LCPI0_2:
	.byte	0
	.zero	1
	.zero	1
	.zero	1
	.byte	3
	.zero	1
	.zero	1
	.zero	1
	.byte	6
	.zero	1
	.zero	1
	.zero	1
	.byte	9
	.zero	1
	.zero	1
	.zero	1
.LCPI0_7:
	.byte	1
	.zero	1
	.zero	1
	.zero	1
	.byte	4
	.zero	1
	.zero	1
	.zero	1
	.byte	7
	.zero	1
	.zero	1
	.zero	1
	.byte	10
	.zero	1
	.zero	1
	.zero	1
	.section	.rodata.cst4,"aM",@progbits,4
	.p2align	2, 0x0
.LCPI0_1:
	.long	7
.LCPI0_3:
	.long	56
.LCPI0_4:
	.long	0x3e000000
.LCPI0_5:
	.long	192
.LCPI0_6:
	.long	0x3c800000
.LCPI0_8:
	.long	4
.LCPI0_9:
	.long	14
.LCPI0_10:
	.long	0x3f000000
.LCPI0_11:
	.long	112
.LCPI0_12:
	.long	0x3d800000
.LCPI0_13:
	.long	128
.LCPI0_14:
	.long	0x3c000000
.LCPI0_15:
	.long	6
.LCPI0_22:
	.long	0x3e800000
.LCPI0_23:
	.long	0x3d000000
.LCPI0_24:
	.long	3
.LCPI0_25:
	.long	12
.LCPI0_32:
	.long	15
.LCPI0_33:
	.long	240
	.section	.rodata.cst32,"aM",@progbits,32
	.p2align	5, 0x0
.LCPI0_16:
	.long	28
	.long	28
	.long	28
	.long	28
	.long	224
	.long	224
	.long	224
	.long	224
.LCPI0_17:
	.long	0x3e800000
	.long	0x3e800000
	.long	0x3e800000
	.long	0x3e800000
	.long	0x3d000000
	.long	0x3d000000
	.long	0x3d000000
	.long	0x3d000000
.LCPI0_26:
	.long	48
	.long	48
	.long	48
	.long	48
	.long	192
	.long	192
	.long	192
	.long	192
.LCPI0_27:
	.long	0x3d800000
	.long	0x3d800000
	.long	0x3d800000
	.long	0x3d800000
	.long	0x3c800000
	.long	0x3c800000
	.long	0x3c800000
	.long	0x3c800000
.LCPI0_28:
	.long	0
	.long	4
	.zero	4
	.zero	4
	.long	1
	.long	5
	.zero	4
	.zero	4
.LCPI0_29:
	.zero	4
	.zero	4
	.long	0
	.long	4
	.zero	4
	.zero	4
	.long	1
	.long	5
.LCPI0_30:
	.long	2
	.long	6
	.zero	4
	.zero	4
	.long	3
	.long	7
	.zero	4
	.zero	4
.LCPI0_31:
	.zero	4
	.zero	4
	.long	2
	.long	6
	.zero	4
	.zero	4
	.long	3
	.long	7
	.section	.rodata.cst8,"aM",@progbits,8
	.p2align	3, 0x0
.LCPI0_18:
	.long	0
	.long	4
.LCPI0_19:
	.long	2
	.long	6
.LCPI0_20:
	.long	1
	.long	5
.LCPI0_21:
	.long	3
	.long	7
	.section	.ltext,"axl",@progbits
	.globl	_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.p2align	4
	.type	_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb,@function
_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	pushq	%r15
	.cfi_def_cfa_offset 24
	pushq	%r14
	.cfi_def_cfa_offset 32
	pushq	%r13
	.cfi_def_cfa_offset 40
	pushq	%r12
	.cfi_def_cfa_offset 48
	pushq	%rbx
	.cfi_def_cfa_offset 56
	subq	$280, %rsp
	.cfi_def_cfa_offset 336
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	.cfi_offset %rbp, -16
	movq	432(%rsp), %r14
	movq	416(%rsp), %r13
	movq	360(%rsp), %rbp
	movq	336(%rsp), %rbx
	movabsq	$NRT_incref, %r15
	movq	%rdi, 8(%rsp)
	movq	%rdx, %rdi
	movq	%rdx, %r12
	callq	*%r15
	movq	%rbp, %rdi
	callq	*%r15
	movq	%r14, %rdi
	callq	*%r15
	cmpb	$0, 488(%rsp)
	movabsq	$NRT_decref, %r15
	movq	%r12, (%rsp)
	je	.LBB0_6
	movq	464(%rsp), %rbp
	cmpq	$4, %r13
	je	.LBB0_11
	movq	424(%rsp), %rsi
	cmpq	$8, %r13
	jne	.LBB0_14
	testq	%rsi, %rsi
	jle	.LBB0_58
	movl	%esi, %eax
	leaq	-1(%rsi), %rcx
	andl	$7, %eax
	cmpq	$7, %rcx
	jae	.LBB0_46
	movq	392(%rsp), %rdi
	xorl	%ecx, %ecx
	jmp	.LBB0_49
.LBB0_6:
	movq	%r14, %rdi
	callq	*%r15
	leaq	-2(%r13), %rax
	movq	%r13, %rdx
	cmpq	$6, %rax
	ja	.LBB0_39
	movabsq	$.LJTI0_0, %rcx
	jmpq	*(%rcx,%rax,8)
.LBB0_8:
	movq	424(%rsp), %r11
	movq	392(%rsp), %r14
	movq	%r11, %rax
	sarq	$2, %rax
	testq	%rax, %rax
	jle	.LBB0_114
	cmpq	$16, %rax
	jb	.LBB0_10
	leaq	-1(%rax), %rdx
	leaq	12(%r14), %rdi
	xorl	%ecx, %ecx
	movq	%rdx, %rsi
	shlq	$4, %rsi
	leaq	12(%r14,%rsi), %r8
	cmpq	%rdi, %r8
	jb	.LBB0_108
	leaq	8(%r14,%rsi), %r8
	leaq	8(%r14), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_108
	leaq	(%r14,%rsi), %rdi
	cmpq	%r14, %rdi
	jb	.LBB0_108
	leaq	4(%r14,%rsi), %rsi
	leaq	4(%r14), %rdi
	cmpq	%rdi, %rsi
	jb	.LBB0_108
	shrq	$60, %rdx
	jne	.LBB0_108
	movq	%rax, %rdx
	shlq	$4, %rdx
	leaq	(%rbx,%rax), %rcx
	addq	%r14, %rdx
	cmpq	%rdx, %rbx
	setb	%dl
	cmpq	%rcx, %r14
	setb	%cl
	testb	%cl, %dl
	je	.LBB0_105
.LBB0_10:
	xorl	%ecx, %ecx
.LBB0_108:
	movq	%rax, %rsi
	andq	$3, %rsi
	movq	%rcx, %rdx
	je	.LBB0_111
	movabsq	$.LCPI0_22, %r9
	movabsq	$.LCPI0_12, %r10
	movq	%rcx, %rdx
	shlq	$4, %rdx
	shll	$4, %esi
	xorl	%r8d, %r8d
	vmovss	(%r9), %xmm0
	movabsq	$.LCPI0_6, %r9
	vmovss	(%r10), %xmm1
	leaq	12(%rdx,%r14), %rdi
	movq	%rcx, %rdx
	vmovss	(%r9), %xmm2
	.p2align	4
.LBB0_110:
	movzbl	(%rbx,%rdx), %r9d
	incq	%rdx
	movl	%r9d, %r10d
	andl	$3, %r10d
	vcvtsi2ss	%r10d, %xmm15, %xmm3
	movl	%r9d, %r10d
	andl	$12, %r10d
	vmovss	%xmm3, -12(%rdi,%r8)
	vcvtsi2ss	%r10d, %xmm15, %xmm3
	movl	%r9d, %r10d
	andl	$48, %r10d
	andl	$-64, %r9d
	vmulss	%xmm0, %xmm3, %xmm3
	vmovss	%xmm3, -8(%rdi,%r8)
	vcvtsi2ss	%r10d, %xmm15, %xmm3
	vmulss	%xmm1, %xmm3, %xmm3
	vmovss	%xmm3, -4(%rdi,%r8)
	vcvtsi2ss	%r9d, %xmm15, %xmm3
	vmulss	%xmm2, %xmm3, %xmm3
	vmovss	%xmm3, (%rdi,%r8)
	addq	$16, %r8
	cmpq	%r8, %rsi
	jne	.LBB0_110
.LBB0_111:
	subq	%rax, %rcx
	cmpq	$-4, %rcx
	ja	.LBB0_114
	movabsq	$.LCPI0_22, %rsi
	movabsq	$.LCPI0_12, %r8
	movabsq	$.LCPI0_6, %rdi
	movq	%rdx, %rcx
	shlq	$4, %rcx
	vmovss	(%rsi), %xmm0
	vmovss	(%r8), %xmm1
	vmovss	(%rdi), %xmm2
	leaq	60(%rcx,%r14), %rcx
	.p2align	4
.LBB0_113:
	movzbl	(%rbx,%rdx), %esi
	movl	%esi, %edi
	andl	$3, %edi
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$12, %edi
	vmovss	%xmm3, -60(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$48, %edi
	andl	$-64, %esi
	vmulss	%xmm0, %xmm3, %xmm3
	vmovss	%xmm3, -56(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	vmulss	%xmm1, %xmm3, %xmm3
	vmovss	%xmm3, -52(%rcx)
	vcvtsi2ss	%esi, %xmm15, %xmm3
	vmulss	%xmm2, %xmm3, %xmm3
	vmovss	%xmm3, -48(%rcx)
	movzbl	1(%rbx,%rdx), %esi
	movl	%esi, %edi
	andl	$3, %edi
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$12, %edi
	vmovss	%xmm3, -44(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$48, %edi
	andl	$-64, %esi
	vmulss	%xmm0, %xmm3, %xmm3
	vmovss	%xmm3, -40(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	vmulss	%xmm1, %xmm3, %xmm3
	vmovss	%xmm3, -36(%rcx)
	vcvtsi2ss	%esi, %xmm15, %xmm3
	vmulss	%xmm2, %xmm3, %xmm3
	vmovss	%xmm3, -32(%rcx)
	movzbl	2(%rbx,%rdx), %esi
	movl	%esi, %edi
	andl	$3, %edi
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$12, %edi
	vmovss	%xmm3, -28(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$48, %edi
	andl	$-64, %esi
	vmulss	%xmm0, %xmm3, %xmm3
	vmovss	%xmm3, -24(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	vmulss	%xmm1, %xmm3, %xmm3
	vmovss	%xmm3, -20(%rcx)
	vcvtsi2ss	%esi, %xmm15, %xmm3
	vmulss	%xmm2, %xmm3, %xmm3
	vmovss	%xmm3, -16(%rcx)
	movzbl	3(%rbx,%rdx), %esi
	addq	$4, %rdx
	movl	%esi, %edi
	andl	$3, %edi
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$12, %edi
	vmovss	%xmm3, -12(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	movl	%esi, %edi
	andl	$48, %edi
	andl	$-64, %esi
	vmulss	%xmm0, %xmm3, %xmm3
	vmovss	%xmm3, -8(%rcx)
	vcvtsi2ss	%edi, %xmm15, %xmm3
	vmulss	%xmm1, %xmm3, %xmm3
	vmovss	%xmm3, -4(%rcx)
	vcvtsi2ss	%esi, %xmm15, %xmm3
	vmulss	%xmm2, %xmm3, %xmm3
	vmovss	%xmm3, (%rcx)
	addq	$64, %rcx
	cmpq	%rdx, %rax
	jne	.LBB0_113
.LBB0_114:
	movq	344(%rsp), %rsi
	movq	%r11, %rcx
	andq	$3, %rcx
	je	.LBB0_133
	movq	%r11, %rdx
	sarq	$63, %r11
	addq	%rax, %rbx
	andq	$-4, %rdx
	andq	%r11, %rsi
	andq	400(%rsp), %r11
	movzbl	(%rsi,%rbx), %eax
	andb	$3, %al
	movzbl	%al, %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	leaq	(%r14,%rdx,4), %rax
	vmovss	%xmm0, (%rax,%r11,4)
	cmpl	$1, %ecx
	je	.LBB0_133
	movzbl	(%rsi,%rbx), %edx
	movq	%rsi, %rdi
	movl	$514, %esi
	bextrl	%esi, %edx, %edx
	vcvtsi2ss	%edx, %xmm15, %xmm0
	vmovss	%xmm0, 4(%rax,%r11,4)
	cmpl	$3, %ecx
	jne	.LBB0_133
	movzbl	(%rdi,%rbx), %ecx
	movl	$516, %edx
	bextrl	%edx, %ecx, %ecx
	vcvtsi2ss	%ecx, %xmm15, %xmm0
	vmovss	%xmm0, 8(%rax,%r11,4)
	jmp	.LBB0_133
.LBB0_11:
	movq	424(%rsp), %r14
	movq	392(%rsp), %r12
	movq	%r14, %rax
	sarq	%rax
	testq	%rax, %rax
	jle	.LBB0_57
	movl	%eax, %ecx
	andl	$7, %ecx
	cmpq	$8, %rax
	jae	.LBB0_52
	xorl	%esi, %esi
	jmp	.LBB0_55
.LBB0_14:
	testq	%rsi, %rsi
	jle	.LBB0_21
	movq	(%rsp), %r15
	movq	$-1, %rax
	xorl	%ebp, %ebp
	xorl	%ebx, %ebx
	shlxq	%r13, %rax, %rax
	notq	%rax
	movq	%rax, 16(%rsp)
	jmp	.LBB0_18
	.p2align	4
.LBB0_16:
	cmpq	$-1, %rax
	movl	$0, %eax
	movq	%r15, %rdi
	movabsq	$NRT_decref, %r13
	cmovlq	%rsi, %rax
	movzbl	1(%rcx,%rax), %r15d
	callq	*%r13
	shll	$8, %r15d
	xorl	%edi, %edi
	orq	%r15, %r14
.LBB0_17:
	leaq	1(%rbx), %r15
	callq	*%r13
	shrxq	%r12, %r14, %rax
	andl	16(%rsp), %eax
	movq	464(%rsp), %rcx
	movq	416(%rsp), %r13
	vmovss	(%rcx,%rax,4), %xmm0
	movq	392(%rsp), %rax
	addq	%r13, %rbp
	vmovss	%xmm0, (%rax,%rbx,4)
	movq	%r15, %rbx
	cmpq	%r15, 424(%rsp)
	movq	(%rsp), %r15
	je	.LBB0_20
.LBB0_18:
	movabsq	$NRT_incref, %rax
	movq	%r15, %rdi
	callq	*%rax
	movq	344(%rsp), %rsi
	movq	336(%rsp), %rcx
	movq	%rbp, %rax
	movq	%rbp, %rdx
	sarq	$63, %rdx
	sarq	$3, %rax
	movl	%ebp, %r12d
	andl	$7, %r12d
	andq	%rsi, %rdx
	addq	%rax, %rcx
	movzbl	(%rdx,%rcx), %r14d
	leaq	(%r12,%r13), %rdx
	cmpq	$9, %rdx
	jge	.LBB0_16
	movq	%r15, %rdi
	movabsq	$NRT_decref, %r13
	jmp	.LBB0_17
.LBB0_20:
	movq	8(%rsp), %rbx
	movq	360(%rsp), %r12
	movq	432(%rsp), %r14
	movq	%r15, %rdi
	movabsq	$NRT_decref, %r15
	jmp	.LBB0_61
.LBB0_21:
	movq	8(%rsp), %rbx
	movq	432(%rsp), %r14
	movq	360(%rsp), %r12
	movq	(%rsp), %rdi
	jmp	.LBB0_61
.LBB0_22:
	movq	424(%rsp), %r14
	movq	392(%rsp), %r12
	movq	%r14, %rax
	sarq	%rax
	testq	%rax, %rax
	jle	.LBB0_31
	cmpq	$16, %rax
	jae	.LBB0_62
.LBB0_24:
	xorl	%edx, %edx
.LBB0_25:
	movq	%rax, %rsi
	andq	$7, %rsi
	movq	%rdx, %rcx
	je	.LBB0_28
	movabsq	$.LCPI0_12, %rcx
	vmovss	(%rcx), %xmm0
	movq	%rdx, %rcx
	.p2align	4
.LBB0_27:
	movzbl	(%rbx,%rcx), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	andl	$-16, %edi
	decq	%rsi
	vcvtsi2ss	%r8d, %xmm15, %xmm1
	vmovss	%xmm1, (%r12,%rcx,8)
	vcvtsi2ss	%edi, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 4(%r12,%rcx,8)
	leaq	1(%rcx), %rcx
	jne	.LBB0_27
.LBB0_28:
	subq	%rax, %rdx
	cmpq	$-8, %rdx
	ja	.LBB0_31
	movabsq	$.LCPI0_12, %rdx
	vmovss	(%rdx), %xmm0
	.p2align	4
.LBB0_30:
	movzbl	(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, (%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 4(%r12,%rcx,8)
	movzbl	1(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 8(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 12(%r12,%rcx,8)
	movzbl	2(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 16(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 20(%r12,%rcx,8)
	movzbl	3(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 24(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 28(%r12,%rcx,8)
	movzbl	4(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 32(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 36(%r12,%rcx,8)
	movzbl	5(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 40(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 44(%r12,%rcx,8)
	movzbl	6(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$15, %esi
	andl	$-16, %edx
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmovss	%xmm1, 48(%r12,%rcx,8)
	vcvtsi2ss	%edx, %xmm15, %xmm1
	vmulss	%xmm0, %xmm1, %xmm1
	vmovss	%xmm1, 52(%r12,%rcx,8)
	movzbl	7(%rbx,%rcx), %edx
	movl	%edx, %esi
	andl	$-16, %edx
	andl	$15, %esi
	vcvtsi2ss	%edx, %xmm15, %xmm2
	vcvtsi2ss	%esi, %xmm15, %xmm1
	vmulss	%xmm0, %xmm2, %xmm2
	vmovss	%xmm1, 56(%r12,%rcx,8)
	vmovss	%xmm2, 60(%r12,%rcx,8)
	addq	$8, %rcx
	cmpq	%rcx, %rax
	jne	.LBB0_30
.LBB0_31:
	testb	$1, %r14b
	je	.LBB0_133
	addq	%rax, %rbx
	sarq	$63, %rax
	andq	344(%rsp), %rax
	movq	(%rsp), %rdi
	movzbl	(%rax,%rbx), %ebx
	vzeroupper
	callq	*%r15
	movq	400(%rsp), %rcx
	andb	$15, %bl
	leaq	(%r12,%r14,4), %rdx
	movzbl	%bl, %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	xorl	%eax, %eax
	testq	%r14, %r14
	cmovgq	%rax, %rcx
	vmovss	%xmm0, -4(%rdx,%rcx,4)
	jmp	.LBB0_135
.LBB0_33:
	movq	424(%rsp), %rbp
	movq	392(%rsp), %r12
	movq	%rbp, %rcx
	sarq	$3, %rcx
	testq	%rcx, %rcx
	jle	.LBB0_98
	cmpq	$16, %rcx
	jb	.LBB0_35
	leaq	-1(%rcx), %rdx
	leaq	28(%r12), %rdi
	xorl	%eax, %eax
	movq	%rdx, %rsi
	shlq	$5, %rsi
	leaq	28(%r12,%rsi), %r8
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	24(%r12,%rsi), %r8
	leaq	24(%r12), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	20(%r12,%rsi), %r8
	leaq	20(%r12), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	16(%r12,%rsi), %r8
	leaq	16(%r12), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	12(%r12,%rsi), %r8
	leaq	12(%r12), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	8(%r12,%rsi), %r8
	leaq	8(%r12), %rdi
	cmpq	%rdi, %r8
	jb	.LBB0_93
	leaq	(%r12,%rsi), %rdi
	cmpq	%r12, %rdi
	jb	.LBB0_93
	leaq	4(%r12,%rsi), %rsi
	leaq	4(%r12), %rdi
	cmpq	%rdi, %rsi
	jb	.LBB0_93
	shrq	$59, %rdx
	jne	.LBB0_93
	movq	%rcx, %rax
	shlq	$5, %rax
	addq	%r12, %rax
	cmpq	%rax, %rbx
	jae	.LBB0_90
	leaq	(%rcx,%rcx,2), %rax
	addq	%rbx, %rax
	cmpq	%rax, %r12
	jae	.LBB0_90
.LBB0_35:
	xorl	%eax, %eax
.LBB0_93:
	movq	%rax, %rdx
	orq	$1, %rdx
	movabsq	$.LCPI0_22, %rdi
	movabsq	$.LCPI0_23, %r8
	testb	$8, %bpl
	je	.LBB0_95
	leaq	(%rax,%rax,2), %rsi
	shlq	$5, %rax
	movabsq	$.LCPI0_4, %r14
	movzbl	(%rbx,%rsi), %r10d
	movl	%r10d, %r9d
	andl	$7, %r9d
	movl	%r10d, %r11d
	andl	$56, %r11d
	andl	$-64, %r10d
	vcvtsi2ss	%r9d, %xmm5, %xmm0
	movzbl	1(%rbx,%rsi), %r9d
	movzbl	2(%rbx,%rsi), %esi
	vmovss	%xmm0, (%r12,%rax)
	vcvtsi2ss	%r11d, %xmm5, %xmm0
	vmulss	(%r14), %xmm0, %xmm0
	movabsq	$.LCPI0_12, %r11
	vmovss	%xmm0, 4(%r12,%rax)
	vcvtsi2ss	%r10d, %xmm5, %xmm0
	movabsq	$.LCPI0_6, %r10
	vmulss	(%r10), %xmm0, %xmm0
	leal	(,%r9,4), %r10d
	andl	$4, %r10d
	vcvtsi2ss	%r10d, %xmm5, %xmm1
	movl	%r9d, %r10d
	andl	$14, %r10d
	vaddss	%xmm1, %xmm0, %xmm0
	vmovss	%xmm0, 8(%r12,%rax)
	vcvtsi2ss	%r10d, %xmm5, %xmm0
	movabsq	$.LCPI0_10, %r10
	vmulss	(%r10), %xmm0, %xmm0
	movl	%r9d, %r10d
	andl	$112, %r10d
	andl	$-128, %r9d
	vmovss	%xmm0, 12(%r12,%rax)
	vcvtsi2ss	%r10d, %xmm5, %xmm0
	vmulss	(%r11), %xmm0, %xmm0
	vmovss	%xmm0, 16(%r12,%rax)
	vcvtsi2ss	%r9d, %xmm5, %xmm0
	movabsq	$.LCPI0_14, %r9
	vmulss	(%r9), %xmm0, %xmm0
	leal	(%rsi,%rsi), %r9d
	andl	$6, %r9d
	vcvtsi2ss	%r9d, %xmm5, %xmm1
	movl	%esi, %r9d
	andl	$28, %r9d
	andl	$-32, %esi
	vaddss	%xmm1, %xmm0, %xmm0
	vmovss	%xmm0, 20(%r12,%rax)
	vcvtsi2ss	%r9d, %xmm5, %xmm0
	vmulss	(%rdi), %xmm0, %xmm0
	vmovss	%xmm0, 24(%r12,%rax)
	vcvtsi2ss	%esi, %xmm5, %xmm0
	vmulss	(%r8), %xmm0, %xmm0
	vmovss	%xmm0, 28(%r12,%rax)
	movq	%rdx, %rax
.LBB0_95:
	cmpq	%rdx, %rcx
	je	.LBB0_98
	movabsq	$.LCPI0_4, %r9
	movabsq	$.LCPI0_6, %r10
	vmovss	(%rdi), %xmm5
	vmovss	(%r8), %xmm6
	leaq	(%rax,%rax,2), %rsi
	movq	%rax, %rdx
	shlq	$5, %rdx
	subq	%rcx, %rax
	vmovss	(%r9), %xmm0
	movabsq	$.LCPI0_10, %r9
	vmovss	(%r10), %xmm1
	movabsq	$.LCPI0_12, %r10
	leaq	60(%rdx,%r12), %rdx
	vmovss	(%r9), %xmm2
	movabsq	$.LCPI0_14, %r9
	vmovss	(%r10), %xmm3
	leaq	5(%rbx,%rsi), %rsi
	vmovss	(%r9), %xmm4
	.p2align	4
.LBB0_97:
	movzbl	-5(%rsi), %r8d
	movzbl	-4(%rsi), %edi
	movl	%r8d, %ecx
	movl	%r8d, %r9d
	andl	$7, %ecx
	andl	$56, %r9d
	andl	$-64, %r8d
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%ecx, %xmm11, %xmm7
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r9d, %xmm11, %xmm8
	movzbl	-3(%rsi), %ecx
	vmovss	%xmm7, -60(%rdx)
	vmulss	%xmm0, %xmm8, %xmm7
	vmovss	%xmm7, -56(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r8d, %xmm11, %xmm7
	leal	(,%rdi,4), %r8d
	andl	$4, %r8d
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r8d, %xmm11, %xmm8
	vmulss	%xmm1, %xmm7, %xmm7
	movl	%edi, %r8d
	andl	$14, %r8d
	vaddss	%xmm7, %xmm8, %xmm7
	vmovss	%xmm7, -52(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r8d, %xmm11, %xmm7
	movl	%edi, %r8d
	andl	$112, %r8d
	andl	$-128, %edi
	vmulss	%xmm2, %xmm7, %xmm7
	vmovss	%xmm7, -48(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r8d, %xmm11, %xmm7
	vmulss	%xmm3, %xmm7, %xmm7
	vmovss	%xmm7, -44(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%edi, %xmm11, %xmm7
	leal	(%rcx,%rcx), %edi
	andl	$6, %edi
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%edi, %xmm11, %xmm8
	movl	%ecx, %edi
	andl	$28, %edi
	andl	$-32, %ecx
	vmulss	%xmm4, %xmm7, %xmm7
	vaddss	%xmm7, %xmm8, %xmm7
	vmovss	%xmm7, -40(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%edi, %xmm11, %xmm7
	vmulss	%xmm5, %xmm7, %xmm7
	vmovss	%xmm7, -36(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%ecx, %xmm11, %xmm7
	vmulss	%xmm6, %xmm7, %xmm7
	vmovss	%xmm7, -32(%rdx)
	movzbl	-2(%rsi), %r8d
	movzbl	-1(%rsi), %edi
	movl	%r8d, %ecx
	andl	$7, %ecx
	movl	%r8d, %r9d
	andl	$56, %r9d
	andl	$-64, %r8d
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%ecx, %xmm11, %xmm7
	movzbl	(%rsi), %ecx
	addq	$6, %rsi
	vmovss	%xmm7, -28(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r9d, %xmm11, %xmm7
	vmulss	%xmm0, %xmm7, %xmm7
	vmovss	%xmm7, -24(%rdx)
	vxorps	%xmm11, %xmm11, %xmm11
	vcvtsi2ss	%r8d, %xmm11, %xmm7
	leal	(,%rdi,4), %r8d
	andl	$4, %r8d
	vcvtsi2ss	%r8d, %xmm11, %xmm8
	vmulss	%xmm1, %xmm7, %xmm7
	movl	%edi, %r8d
	andl	$14, %r8d
	vaddss	%xmm7, %xmm8, %xmm7
	vmovss	%xmm7, -20(%rdx)
	vcvtsi2ss	%r8d, %xmm15, %xmm7
	movl	%edi, %r8d
	andl	$112, %r8d
	andl	$-128, %edi
	vmulss	%xmm2, %xmm7, %xmm7
	vmovss	%xmm7, -16(%rdx)
	vcvtsi2ss	%r8d, %xmm15, %xmm7
	vmulss	%xmm3, %xmm7, %xmm7
	vmovss	%xmm7, -12(%rdx)
	vcvtsi2ss	%edi, %xmm15, %xmm7
	leal	(%rcx,%rcx), %edi
	andl	$6, %edi
	vcvtsi2ss	%edi, %xmm15, %xmm8
	movl	%ecx, %edi
	andl	$28, %edi
	andl	$-32, %ecx
	vmulss	%xmm4, %xmm7, %xmm7
	vaddss	%xmm7, %xmm8, %xmm7
	vcvtsi2ss	%ecx, %xmm15, %xmm8
	vmovss	%xmm7, -8(%rdx)
	vcvtsi2ss	%edi, %xmm15, %xmm7
	vmulss	%xmm6, %xmm8, %xmm8
	vmulss	%xmm5, %xmm7, %xmm7
	vmovss	%xmm7, -4(%rdx)
	vmovss	%xmm8, (%rdx)
	addq	$64, %rdx
	addq	$2, %rax
	jne	.LBB0_97
.LBB0_98:
	movq	%rbp, %r12
	andq	$7, %r12
	je	.LBB0_104
	andq	$-8, %rbp
	incq	%r12
	leaq	(%rbp,%rbp,2), %r13
	jmp	.LBB0_102
	.p2align	4
.LBB0_100:
	cmpq	$-1, %rax
	movl	$0, %eax
	movq	%rbp, %rdi
	cmovlq	%rsi, %rax
	movzbl	1(%rcx,%rax), %r15d
	movabsq	$NRT_decref, %rax
	callq	*%rax
	shll	$8, %r15d
	xorl	%edi, %edi
	orq	%r15, %r14
	movabsq	$NRT_decref, %r15
.LBB0_101:
	callq	*%r15
	movq	16(%rsp), %rbp
	shrxq	%rbx, %r14, %rax
	movq	392(%rsp), %rcx
	decq	%r12
	addq	$3, %r13
	andl	$7, %eax
	vcvtsi2ss	%eax, %xmm5, %xmm0
	movq	%rbp, %rax
	sarq	$63, %rax
	andq	400(%rsp), %rax
	leaq	(%rcx,%rax,4), %rax
	vmovss	%xmm0, (%rax,%rbp,4)
	incq	%rbp
	cmpq	$1, %r12
	jbe	.LBB0_104
.LBB0_102:
	movq	%rbp, 16(%rsp)
	movq	(%rsp), %rbp
	movabsq	$NRT_incref, %rax
	movq	%rbp, %rdi
	vzeroupper
	callq	*%rax
	movq	344(%rsp), %rsi
	movq	336(%rsp), %rcx
	movq	%r13, %rax
	movq	%r13, %rdx
	sarq	$63, %rdx
	sarq	$3, %rax
	movl	%r13d, %ebx
	andl	$7, %ebx
	andq	%rsi, %rdx
	addq	%rax, %rcx
	movzbl	(%rdx,%rcx), %r14d
	cmpq	$6, %rbx
	jae	.LBB0_100
	movq	%rbp, %rdi
	jmp	.LBB0_101
.LBB0_104:
	movq	(%rsp), %rdi
	vzeroupper
	callq	*%r15
	movq	360(%rsp), %rdi
	movq	8(%rsp), %rbx
	jmp	.LBB0_136
.LBB0_36:
	movq	424(%rsp), %rdi
	movq	392(%rsp), %r8
	testq	%rdi, %rdi
	jle	.LBB0_133
	cmpq	$4, %rdi
	jb	.LBB0_38
	leaq	(%rbx,%rdi), %rcx
	leaq	(%r8,%rdi,4), %rax
	cmpq	%rcx, %r8
	setb	%cl
	cmpq	%rax, %rbx
	setb	%al
	testb	%al, %cl
	je	.LBB0_88
.LBB0_38:
	xorl	%eax, %eax
.LBB0_128:
	movl	%edi, %edx
	subl	%eax, %edx
	movq	%rax, %rcx
	andl	$7, %edx
	je	.LBB0_131
	movq	%rax, %rcx
	.p2align	4
.LBB0_130:
	movzbl	(%rbx,%rcx), %esi
	decq	%rdx
	vcvtsi2ss	%esi, %xmm15, %xmm0
	vmovss	%xmm0, (%r8,%rcx,4)
	leaq	1(%rcx), %rcx
	jne	.LBB0_130
.LBB0_131:
	subq	%rdi, %rax
	cmpq	$-8, %rax
	ja	.LBB0_133
	.p2align	4
.LBB0_132:
	movzbl	(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, (%r8,%rcx,4)
	movzbl	1(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 4(%r8,%rcx,4)
	movzbl	2(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 8(%r8,%rcx,4)
	movzbl	3(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 12(%r8,%rcx,4)
	movzbl	4(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 16(%r8,%rcx,4)
	movzbl	5(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 20(%r8,%rcx,4)
	movzbl	6(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 24(%r8,%rcx,4)
	movzbl	7(%rbx,%rcx), %eax
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, 28(%r8,%rcx,4)
	addq	$8, %rcx
	cmpq	%rcx, %rdi
	jne	.LBB0_132
.LBB0_133:
	movq	(%rsp), %rdi
	jmp	.LBB0_134
.LBB0_39:
	cmpq	$0, 424(%rsp)
	jle	.LBB0_45
	movq	$-1, %rax
	xorl	%r13d, %r13d
	xorl	%ebx, %ebx
	shlxq	%rdx, %rax, %rax
	notq	%rax
	movq	%rax, 16(%rsp)
	jmp	.LBB0_43
	.p2align	4
.LBB0_41:
	cmpq	$-1, %rax
	movl	$0, %eax
	movq	%r15, %rdi
	movabsq	$NRT_decref, %r15
	cmovlq	%rsi, %rax
	movzbl	1(%rcx,%rax), %ebp
	callq	*%r15
	shll	$8, %ebp
	xorl	%edi, %edi
	orq	%rbp, %r14
.LBB0_42:
	leaq	1(%rbx), %rbp
	callq	*%r15
	shrxq	%r12, %r14, %rax
	andl	16(%rsp), %eax
	movq	392(%rsp), %rdx
	movq	424(%rsp), %rcx
	vcvtsi2ss	%eax, %xmm15, %xmm0
	vmovss	%xmm0, (%rdx,%rbx,4)
	movq	416(%rsp), %rdx
	movq	%rbp, %rbx
	addq	%rdx, %r13
	cmpq	%rbp, %rcx
	je	.LBB0_45
.LBB0_43:
	movq	(%rsp), %r15
	movabsq	$NRT_incref, %rax
	movq	%rdx, %rbp
	movq	%r15, %rdi
	callq	*%rax
	movq	344(%rsp), %rsi
	movq	336(%rsp), %rcx
	movq	%r13, %rax
	movq	%r13, %rdx
	sarq	$63, %rdx
	sarq	$3, %rax
	movl	%r13d, %r12d
	andl	$7, %r12d
	andq	%rsi, %rdx
	addq	%rax, %rcx
	movzbl	(%rdx,%rcx), %r14d
	leaq	(%r12,%rbp), %rdx
	cmpq	$9, %rdx
	jge	.LBB0_41
	movq	%r15, %rdi
	movabsq	$NRT_decref, %r15
	jmp	.LBB0_42
.LBB0_45:
	movq	(%rsp), %rdi
	movabsq	$NRT_decref, %r15
.LBB0_134:
	vzeroupper
	callq	*%r15
.LBB0_135:
	movq	8(%rsp), %rbx
	movq	360(%rsp), %rdi
	jmp	.LBB0_136
.LBB0_46:
	movq	392(%rsp), %rdi
	movabsq	$9223372036854775800, %rcx
	andq	%rcx, %rsi
	xorl	%ecx, %ecx
	.p2align	4
.LBB0_47:
	movzbl	(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, (%rdi,%rcx,4)
	movzbl	1(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 4(%rdi,%rcx,4)
	movzbl	2(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 8(%rdi,%rcx,4)
	movzbl	3(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 12(%rdi,%rcx,4)
	movzbl	4(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 16(%rdi,%rcx,4)
	movzbl	5(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 20(%rdi,%rcx,4)
	movzbl	6(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 24(%rdi,%rcx,4)
	movzbl	7(%rbx,%rcx), %edx
	vmovss	(%rbp,%rdx,4), %xmm0
	vmovss	%xmm0, 28(%rdi,%rcx,4)
	addq	$8, %rcx
	cmpq	%rcx, %rsi
	jne	.LBB0_47
	testq	%rax, %rax
	je	.LBB0_58
.LBB0_49:
	movq	360(%rsp), %r12
	leaq	(%rdi,%rcx,4), %rdx
	addq	%rcx, %rbx
	xorl	%ecx, %ecx
	.p2align	4
.LBB0_50:
	movzbl	(%rbx,%rcx), %esi
	vmovss	(%rbp,%rsi,4), %xmm0
	vmovss	%xmm0, (%rdx,%rcx,4)
	incq	%rcx
	cmpq	%rcx, %rax
	jne	.LBB0_50
	movq	8(%rsp), %rbx
	movq	432(%rsp), %r14
	jmp	.LBB0_60
.LBB0_52:
	movabsq	$9223372036854775800, %rdx
	xorl	%esi, %esi
	andq	%rax, %rdx
	.p2align	4
.LBB0_53:
	movzbl	(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, (%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 4(%r12,%rsi,8)
	movzbl	1(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 8(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 12(%r12,%rsi,8)
	movzbl	2(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 16(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 20(%r12,%rsi,8)
	movzbl	3(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 24(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 28(%r12,%rsi,8)
	movzbl	4(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 32(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 36(%r12,%rsi,8)
	movzbl	5(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 40(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 44(%r12,%rsi,8)
	movzbl	6(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 48(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 52(%r12,%rsi,8)
	movzbl	7(%rbx,%rsi), %edi
	movl	%edi, %r8d
	andl	$15, %r8d
	shrl	$4, %edi
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, 56(%r12,%rsi,8)
	vmovss	(%rbp,%rdi,4), %xmm0
	vmovss	%xmm0, 60(%r12,%rsi,8)
	addq	$8, %rsi
	cmpq	%rsi, %rdx
	jne	.LBB0_53
	testq	%rcx, %rcx
	je	.LBB0_57
.LBB0_55:
	leaq	4(%r12,%rsi,8), %rdx
	addq	%rbx, %rsi
	xorl	%edi, %edi
	.p2align	4
.LBB0_56:
	movzbl	(%rsi,%rdi), %r8d
	movl	%r8d, %r9d
	andl	$15, %r9d
	shrl	$4, %r8d
	vmovss	(%rbp,%r9,4), %xmm0
	vmovss	%xmm0, -4(%rdx,%rdi,8)
	vmovss	(%rbp,%r8,4), %xmm0
	vmovss	%xmm0, (%rdx,%rdi,8)
	incq	%rdi
	cmpq	%rdi, %rcx
	jne	.LBB0_56
.LBB0_57:
	testb	$1, %r14b
	jne	.LBB0_59
.LBB0_58:
	movq	8(%rsp), %rbx
	movq	432(%rsp), %r14
	movq	360(%rsp), %r12
	jmp	.LBB0_60
.LBB0_59:
	addq	%rax, %rbx
	sarq	$63, %rax
	andq	344(%rsp), %rax
	movq	(%rsp), %rdi
	movzbl	(%rax,%rbx), %ebx
	callq	*%r15
	andl	$15, %ebx
	movq	432(%rsp), %rdi
	vmovss	(%rbp,%rbx,4), %xmm0
	vmovss	%xmm0, 16(%rsp)
	callq	*%r15
	vmovss	16(%rsp), %xmm0
	movq	400(%rsp), %rcx
	movq	360(%rsp), %rdi
	movl	$0, %eax
	xorl	%edx, %edx
	testq	%r14, %r14
	movq	%rax, (%rsp)
	leaq	(%r12,%r14,4), %rax
	cmovgq	%rdx, %rcx
	vmovss	%xmm0, -4(%rax,%rcx,4)
	callq	*%r15
	movq	8(%rsp), %rbx
	xorl	%r12d, %r12d
	xorl	%r14d, %r14d
.LBB0_60:
	movq	(%rsp), %rdi
	callq	*%r15
	movq	%r12, %rdi
	callq	*%r15
	movq	%r14, %rdi
	callq	*%r15
	xorl	%edi, %edi
	xorl	%r12d, %r12d
	xorl	%r14d, %r14d
.LBB0_61:
	callq	*%r15
	movq	%r12, %rdi
	callq	*%r15
	movq	%r14, %rdi
.LBB0_136:
	callq	*%r15
	movq	$0, (%rbx)
	xorl	%eax, %eax
	addq	$280, %rsp
	.cfi_def_cfa_offset 56
	popq	%rbx
	.cfi_def_cfa_offset 48
	popq	%r12
	.cfi_def_cfa_offset 40
	popq	%r13
	.cfi_def_cfa_offset 32
	popq	%r14
	.cfi_def_cfa_offset 24
	popq	%r15
	.cfi_def_cfa_offset 16
	popq	%rbp
	.cfi_def_cfa_offset 8
	retq
.LBB0_62:
	.cfi_def_cfa_offset 336
	leaq	-8(%r12,%rax,8), %rcx
	xorl	%edx, %edx
	cmpq	%r12, %rcx
	jb	.LBB0_25
	leaq	-4(%r12,%rax,8), %rsi
	leaq	4(%r12), %rcx
	cmpq	%rcx, %rsi
	jb	.LBB0_25
	movabsq	$2305843009213693948, %rsi
	leaq	-1(%rax), %rcx
	orq	$3, %rsi
	cmpq	%rsi, %rcx
	ja	.LBB0_25
	leaq	(%r12,%rax,8), %rcx
	leaq	(%rbx,%rax), %rdx
	cmpq	%rcx, %rbx
	setb	%cl
	cmpq	%rdx, %r12
	setb	%dl
	testb	%dl, %cl
	jne	.LBB0_24
	movabsq	$.LCPI0_32, %rsi
	movabsq	$.LCPI0_33, %r8
	movabsq	$.LCPI0_12, %rdi
	movabsq	$4611686018427387896, %rdx
	xorl	%ecx, %ecx
	vpbroadcastd	(%rsi), %ymm0
	vpbroadcastd	(%r8), %ymm1
	vbroadcastss	(%rdi), %ymm2
	andq	%rax, %rdx
.LBB0_119:
	vpmovzxbd	(%rbx,%rcx), %ymm3
	vpand	%ymm0, %ymm3, %ymm4
	vpand	%ymm1, %ymm3, %ymm3
	vcvtdq2ps	%ymm3, %ymm3
	vcvtdq2ps	%ymm4, %ymm4
	vmulps	%ymm2, %ymm3, %ymm3
	vunpckhps	%ymm3, %ymm4, %ymm5
	vunpcklps	%ymm3, %ymm4, %ymm3
	vperm2f128	$32, %ymm5, %ymm3, %ymm4
	vperm2f128	$49, %ymm5, %ymm3, %ymm3
	vmovups	%ymm3, 32(%r12,%rcx,8)
	vmovups	%ymm4, (%r12,%rcx,8)
	addq	$8, %rcx
	cmpq	%rcx, %rdx
	jne	.LBB0_119
	cmpq	%rdx, %rax
	jne	.LBB0_25
	jmp	.LBB0_31
.LBB0_88:
	movabsq	$9223372036854775800, %rcx
	cmpq	$32, %rdi
	jae	.LBB0_121
	xorl	%eax, %eax
	jmp	.LBB0_125
.LBB0_90:
	movabsq	$.LCPI0_0, %rdx
	movabsq	$.LCPI0_17, %r9
	movabsq	$.LCPI0_18, %r10
	movabsq	$.LCPI0_19, %r11
	movabsq	$.LCPI0_21, %r14
	movabsq	$.LCPI0_16, %r8
	movabsq	$9223372036854775800, %rax
	movq	%r12, %rsi
	vmovaps	(%rdx), %xmm0
	movabsq	$.LCPI0_1, %rdx
	vmovaps	(%r9), %ymm1
	vbroadcastsd	(%r10), %ymm2
	vbroadcastsd	(%r11), %ymm3
	vbroadcastsd	(%r14), %ymm5
	orq	$4, %rax
	andq	%rcx, %rax
	movq	%rax, %rdi
	vmovaps	%xmm0, 16(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_2, %rdx
	vmovaps	%xmm0, 256(%rsp)
	vmovaps	(%rdx), %xmm0
	movabsq	$.LCPI0_3, %rdx
	vmovaps	%xmm0, 240(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_4, %rdx
	vmovaps	%xmm0, 224(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_5, %rdx
	vmovaps	%xmm0, 208(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_6, %rdx
	vmovaps	%xmm0, 192(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_7, %rdx
	vmovaps	%xmm0, 176(%rsp)
	vmovaps	(%rdx), %xmm0
	movabsq	$.LCPI0_8, %rdx
	vmovaps	%xmm0, 160(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_9, %rdx
	vmovaps	%xmm0, 144(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_10, %rdx
	vmovaps	%xmm0, 128(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_11, %rdx
	vmovaps	%xmm0, 112(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_12, %rdx
	vmovaps	%xmm0, 96(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_13, %rdx
	vmovaps	%xmm0, 80(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_14, %rdx
	vmovaps	%xmm0, 64(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movabsq	$.LCPI0_15, %rdx
	vmovaps	%xmm0, 48(%rsp)
	vbroadcastss	(%rdx), %xmm0
	movq	%rbx, %rdx
	movabsq	$.LCPI0_20, %rbx
	movq	%rdx, %r13
	vbroadcastsd	(%rbx), %ymm4
	vmovaps	%xmm0, 32(%rsp)
	vmovdqa	(%r8), %ymm0
.LBB0_91:
	vmovq	(%rdx), %xmm6
	vpinsrd	$2, 8(%rdx), %xmm6, %xmm6
	addq	$12, %rdx
	vpshufb	240(%rsp), %xmm6, %xmm7
	vpshufb	160(%rsp), %xmm6, %xmm11
	vpshufb	16(%rsp), %xmm6, %xmm10
	vpand	256(%rsp), %xmm7, %xmm8
	vpand	224(%rsp), %xmm7, %xmm9
	vpand	192(%rsp), %xmm7, %xmm7
	vpand	96(%rsp), %xmm11, %xmm12
	vpslld	$2, %xmm11, %xmm6
	vpand	144(%rsp), %xmm6, %xmm6
	vpmovzxbq	%xmm10, %ymm13
	vpmovzxbd	%xmm10, %xmm10
	vcvtdq2ps	%xmm7, %xmm7
	vmulps	176(%rsp), %xmm7, %xmm7
	vpaddd	%xmm10, %xmm10, %xmm10
	vpand	32(%rsp), %xmm10, %xmm10
	vcvtdq2ps	%xmm12, %xmm12
	vmulps	80(%rsp), %xmm12, %xmm12
	vcvtdq2ps	%xmm9, %xmm9
	vmulps	208(%rsp), %xmm9, %xmm9
	vcvtdq2ps	%xmm8, %xmm8
	vcvtdq2ps	%xmm6, %xmm6
	vcvtdq2ps	%xmm10, %xmm10
	vaddps	%xmm6, %xmm7, %xmm6
	vpand	128(%rsp), %xmm11, %xmm7
	vpand	64(%rsp), %xmm11, %xmm11
	vcvtdq2ps	%xmm11, %xmm11
	vmulps	48(%rsp), %xmm11, %xmm11
	vcvtdq2ps	%xmm7, %xmm7
	vmulps	112(%rsp), %xmm7, %xmm7
	vaddps	%xmm10, %xmm11, %xmm10
	vpshufd	$136, %ymm13, %ymm11
	vinsertf128	$1, %xmm7, %ymm6, %ymm14
	vpermq	$216, %ymm11, %ymm11
	vpermps	%ymm14, %ymm2, %ymm13
	vinsertf128	$1, %xmm10, %ymm12, %ymm10
	vunpcklps	%xmm9, %xmm8, %xmm12
	vpand	%ymm0, %ymm11, %ymm11
	vcvtdq2ps	%ymm11, %ymm11
	vmovsd	%xmm12, %xmm13, %xmm12
	vpermps	%ymm10, %ymm2, %ymm13
	vmulps	%ymm1, %ymm11, %ymm11
	vpermps	%ymm11, %ymm2, %ymm15
	vblendps	$192, %ymm15, %ymm13, %ymm13
	vinsertf128	$1, %xmm9, %ymm8, %ymm15
	vunpckhps	%xmm9, %xmm8, %xmm8
	vpermps	%ymm14, %ymm3, %ymm9
	vpermps	%ymm11, %ymm3, %ymm14
	vblendps	$240, %ymm13, %ymm12, %ymm12
	vpermps	%ymm10, %ymm3, %ymm13
	vmovups	%ymm12, (%rsi)
	vmovsd	%xmm8, %xmm9, %xmm8
	vblendps	$192, %ymm14, %ymm13, %ymm9
	vpermps	%ymm15, %ymm4, %ymm13
	vpermps	%ymm11, %ymm4, %ymm14
	vblendps	$240, %ymm9, %ymm8, %ymm8
	vunpcklps	%xmm7, %xmm6, %xmm9
	vunpckhps	%xmm7, %xmm6, %xmm6
	vpermps	%ymm15, %ymm5, %ymm7
	vmovups	%ymm8, 64(%rsi)
	vmovsd	%xmm13, %xmm9, %xmm9
	vpermps	%ymm10, %ymm4, %ymm13
	vpermps	%ymm10, %ymm5, %ymm10
	vmovsd	%xmm7, %xmm6, %xmm6
	vpermps	%ymm11, %ymm5, %ymm7
	vblendps	$192, %ymm14, %ymm13, %ymm13
	vblendps	$192, %ymm7, %ymm10, %ymm7
	vblendps	$240, %ymm13, %ymm9, %ymm9
	vblendps	$240, %ymm7, %ymm6, %ymm6
	vmovups	%ymm9, 32(%rsi)
	vmovups	%ymm6, 96(%rsi)
	subq	$-128, %rsi
	addq	$-4, %rdi
	jne	.LBB0_91
	movq	392(%rsp), %r12
	movq	%r13, %rbx
	cmpq	%rax, %rcx
	je	.LBB0_98
	jmp	.LBB0_93
.LBB0_105:
	movabsq	$.LCPI0_25, %r8
	movabsq	$.LCPI0_22, %rdi
	movabsq	$.LCPI0_24, %rsi
	movabsq	$2305843009213693948, %rcx
	xorl	%edx, %edx
	vpbroadcastd	(%r8), %xmm1
	vbroadcastss	(%rdi), %xmm2
	movabsq	$.LCPI0_26, %r8
	movabsq	$.LCPI0_27, %rdi
	vpbroadcastd	(%rsi), %xmm0
	andq	%rax, %rcx
	movq	%r14, %rsi
	vmovdqa	(%r8), %ymm3
	vmovaps	(%rdi), %ymm4
	movabsq	$.LCPI0_28, %r8
	movabsq	$.LCPI0_29, %rdi
	vmovaps	(%r8), %ymm5
	vmovaps	(%rdi), %ymm6
	movabsq	$.LCPI0_30, %r8
	movabsq	$.LCPI0_31, %rdi
	vmovaps	(%r8), %ymm7
	vmovaps	(%rdi), %ymm8
.LBB0_106:
	vmovd	(%rbx,%rdx), %xmm9
	addq	$4, %rdx
	vpmovzxbq	%xmm9, %ymm10
	vpmovzxbd	%xmm9, %xmm9
	vpand	%xmm0, %xmm9, %xmm11
	vpand	%xmm1, %xmm9, %xmm9
	vcvtdq2ps	%xmm9, %xmm9
	vcvtdq2ps	%xmm11, %xmm11
	vpshufd	$136, %ymm10, %ymm10
	vpermq	$216, %ymm10, %ymm10
	vmulps	%xmm2, %xmm9, %xmm9
	vinsertf128	$1, %xmm9, %ymm11, %ymm9
	vpermps	%ymm9, %ymm5, %ymm11
	vpermps	%ymm9, %ymm7, %ymm9
	vpand	%ymm3, %ymm10, %ymm10
	vcvtdq2ps	%ymm10, %ymm10
	vmulps	%ymm4, %ymm10, %ymm10
	vpermps	%ymm10, %ymm6, %ymm12
	vpermps	%ymm10, %ymm8, %ymm10
	vblendps	$204, %ymm12, %ymm11, %ymm11
	vblendps	$204, %ymm10, %ymm9, %ymm9
	vmovups	%ymm9, 32(%rsi)
	vmovups	%ymm11, (%rsi)
	addq	$64, %rsi
	cmpq	%rdx, %rcx
	jne	.LBB0_106
	cmpq	%rcx, %rax
	je	.LBB0_114
	jmp	.LBB0_108
.LBB0_121:
	leaq	-24(%rcx), %rax
	xorl	%edx, %edx
	andq	%rdi, %rax
.LBB0_122:
	vpmovzxbd	(%rbx,%rdx), %ymm0
	vpmovzxbd	8(%rbx,%rdx), %ymm1
	vpmovzxbd	16(%rbx,%rdx), %ymm2
	vpmovzxbd	24(%rbx,%rdx), %ymm3
	vcvtdq2ps	%ymm0, %ymm0
	vcvtdq2ps	%ymm1, %ymm1
	vcvtdq2ps	%ymm2, %ymm2
	vcvtdq2ps	%ymm3, %ymm3
	vmovups	%ymm0, (%r8,%rdx,4)
	vmovups	%ymm1, 32(%r8,%rdx,4)
	vmovups	%ymm2, 64(%r8,%rdx,4)
	vmovups	%ymm3, 96(%r8,%rdx,4)
	addq	$32, %rdx
	cmpq	%rdx, %rax
	jne	.LBB0_122
	cmpq	%rax, %rdi
	je	.LBB0_133
	testb	$28, %dil
	je	.LBB0_128
.LBB0_125:
	addq	$4, %rcx
	movq	%rax, %rdx
	movq	%rcx, %rax
	andq	%rdi, %rax
	.p2align	4
.LBB0_126:
	vpmovzxbd	(%rbx,%rdx), %xmm0
	vcvtdq2ps	%xmm0, %xmm0
	vmovups	%xmm0, (%r8,%rdx,4)
	addq	$4, %rdx
	cmpq	%rdx, %rax
	jne	.LBB0_126
	cmpq	%rax, %rdi
	je	.LBB0_133
	jmp	.LBB0_128
.Lfunc_end0:
	.size	_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, .Lfunc_end0-_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.cfi_endproc
	.section	.rodata,"a",@progbits
	.p2align	3, 0x0
.LJTI0_0:
	.quad	.LBB0_8
	.quad	.LBB0_33
	.quad	.LBB0_22
	.quad	.LBB0_39
	.quad	.LBB0_39
	.quad	.LBB0_39
	.quad	.LBB0_36

	.section	.ltext,"axl",@progbits
	.globl	_ZN7cpython7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.p2align	4
	.type	_ZN7cpython7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb,@function
_ZN7cpython7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	pushq	%r15
	.cfi_def_cfa_offset 24
	pushq	%r14
	.cfi_def_cfa_offset 32
	pushq	%r13
	.cfi_def_cfa_offset 40
	pushq	%r12
	.cfi_def_cfa_offset 48
	pushq	%rbx
	.cfi_def_cfa_offset 56
	subq	$296, %rsp
	.cfi_def_cfa_offset 352
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	.cfi_offset %rbp, -16
	leaq	48(%rsp), %r10
	movq	%rsi, %rdi
	xorl	%ebx, %ebx
	leaq	56(%rsp), %r11
	leaq	64(%rsp), %r14
	leaq	72(%rsp), %r15
	movabsq	$.const._row_values, %rsi
	movabsq	$PyArg_UnpackTuple, %r12
	leaq	88(%rsp), %r8
	leaq	80(%rsp), %r9
	movl	$6, %edx
	movl	$6, %ecx
	xorl	%eax, %eax
	pushq	%r10
	.cfi_adjust_cfa_offset 8
	pushq	%r11
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	callq	*%r12
	addq	$32, %rsp
	.cfi_adjust_cfa_offset -32
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 96(%rsp)
	vmovups	%ymm0, 120(%rsp)
	testl	%eax, %eax
	je	.LBB1_26
	movabsq	$_ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, %rax
	cmpq	$0, (%rax)
	je	.LBB1_2
	movq	88(%rsp), %rdi
	movabsq	$NRT_adapt_ndarray_from_python, %r12
	leaq	224(%rsp), %rsi
	vmovups	%ymm0, 224(%rsp)
	vmovups	%ymm0, 248(%rsp)
	vzeroupper
	callq	*%r12
	testl	%eax, %eax
	jne	.LBB1_6
	cmpq	$1, 248(%rsp)
	jne	.LBB1_6
	movq	80(%rsp), %rdi
	movq	224(%rsp), %rbx
	movq	256(%rsp), %r14
	movq	264(%rsp), %r15
	leaq	160(%rsp), %rsi
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 160(%rsp)
	vmovups	%ymm0, 184(%rsp)
	vzeroupper
	callq	*%r12
	testl	%eax, %eax
	jne	.LBB1_9
	cmpq	$4, 184(%rsp)
	jne	.LBB1_9
	movq	192(%rsp), %rax
	movq	200(%rsp), %rcx
	movq	72(%rsp), %rdi
	movq	%r14, 40(%rsp)
	movq	160(%rsp), %r14
	movabsq	$PyNumber_Long, %r13
	movq	%r15, 32(%rsp)
	movq	%rax, 24(%rsp)
	movq	%rcx, 16(%rsp)
	callq	*%r13
	movabsq	$PyLong_AsLongLong, %r15
	movabsq	$Py_DecRef, %rbp
	movq	%rbx, 8(%rsp)
	testq	%rax, %rax
	je	.LBB1_11
	movq	%rax, %rdi
	movq	%rax, %r12
	callq	*%r15
	movq	%r12, %rdi
	movq	%rax, (%rsp)
	callq	*%rbp
	movabsq	$PyErr_Occurred, %rbx
	callq	*%rbx
	testq	%rax, %rax
	jne	.LBB1_12
.LBB1_16:
	movq	64(%rsp), %rdi
	callq	*%r13
	testq	%rax, %rax
	je	.LBB1_17
	movq	%rax, %rdi
	movq	%rax, %r13
	callq	*%r15
	movq	%r13, %rdi
	movq	%rax, %r12
	callq	*%rbp
	callq	*%rbx
	testq	%rax, %rax
	jne	.LBB1_12
.LBB1_20:
	movq	56(%rsp), %rdi
	leaq	96(%rsp), %rsi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 96(%rsp)
	vmovups	%ymm0, 120(%rsp)
	vzeroupper
	callq	*%rax
	testl	%eax, %eax
	jne	.LBB1_22
	cmpq	$4, 120(%rsp)
	jne	.LBB1_22
	movq	48(%rsp), %rdi
	movq	96(%rsp), %r13
	movq	128(%rsp), %r15
	movabsq	$PyObject_IsTrue, %rax
	callq	*%rax
	movl	%eax, %ebp
	callq	*%rbx
	testq	%rax, %rax
	jne	.LBB1_24
	xorl	%ebx, %ebx
	testl	%ebp, %ebp
	movabsq	$PyEval_SaveThread, %rax
	setne	%bl
	callq	*%rax
	movq	%rax, %rbp
	subq	$160, %rsp
	.cfi_adjust_cfa_offset 160
	movq	176(%rsp), %rdi
	movq	184(%rsp), %rdx
	movq	160(%rsp), %rax
	movq	%r15, 128(%rsp)
	movq	168(%rsp), %r15
	movl	%ebx, 152(%rsp)
	movq	%r13, 96(%rsp)
	movq	%r12, 88(%rsp)
	movq	%r14, 24(%rsp)
	movq	%rdi, 64(%rsp)
	movq	192(%rsp), %rdi
	movq	%rdx, 56(%rsp)
	movq	200(%rsp), %rdx
	movq	%rax, 80(%rsp)
	movabsq	$_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, %rax
	movq	%rdi, 8(%rsp)
	leaq	448(%rsp), %rdi
	movq	%rdx, (%rsp)
	movq	%r15, %rdx
	callq	*%rax
	addq	$160, %rsp
	.cfi_adjust_cfa_offset -160
	movabsq	$PyEval_RestoreThread, %rax
	movq	%rbp, %rdi
	callq	*%rax
	movabsq	$NRT_decref, %rbx
	movq	%r15, %rdi
	callq	*%rbx
	movq	%r14, %rdi
	callq	*%rbx
	movq	%r13, %rdi
	callq	*%rbx
	movabsq	$_Py_NoneStruct, %rbx
	movabsq	$Py_IncRef, %rax
	movq	%rbx, %rdi
	callq	*%rax
.LBB1_26:
	movq	%rbx, %rax
	addq	$296, %rsp
	.cfi_def_cfa_offset 56
	popq	%rbx
	.cfi_def_cfa_offset 48
	popq	%r12
	.cfi_def_cfa_offset 40
	popq	%r13
	.cfi_def_cfa_offset 32
	popq	%r14
	.cfi_def_cfa_offset 24
	popq	%r15
	.cfi_def_cfa_offset 16
	popq	%rbp
	.cfi_def_cfa_offset 8
	vzeroupper
	retq
.LBB1_2:
	.cfi_def_cfa_offset 352
	movabsq	$PyExc_RuntimeError, %rdi
	movabsq	$".const.missing Environment: _ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb", %rsi
	jmp	.LBB1_3
.LBB1_6:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
.LBB1_3:
	movabsq	$PyErr_SetString, %rax
	vzeroupper
	callq	*%rax
	xorl	%ebx, %ebx
	jmp	.LBB1_26
.LBB1_9:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	jmp	.LBB1_13
.LBB1_11:
	movq	$0, (%rsp)
	movabsq	$PyErr_Occurred, %rbx
	callq	*%rbx
	testq	%rax, %rax
	je	.LBB1_16
	jmp	.LBB1_12
.LBB1_17:
	xorl	%r12d, %r12d
	callq	*%rbx
	testq	%rax, %rax
	je	.LBB1_20
	jmp	.LBB1_12
.LBB1_22:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	jmp	.LBB1_12
.LBB1_24:
	movabsq	$NRT_decref, %rax
	movq	%r13, %rdi
	callq	*%rax
.LBB1_12:
	movabsq	$NRT_decref, %rax
	movq	%r14, %rdi
	callq	*%rax
	movq	8(%rsp), %rbx
.LBB1_13:
	movabsq	$NRT_decref, %rax
	movq	%rbx, %rdi
	callq	*%rax
	xorl	%ebx, %ebx
	jmp	.LBB1_26
.Lfunc_end1:
	.size	_ZN7cpython7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, .Lfunc_end1-_ZN7cpython7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.cfi_endproc

	.globl	cfunc._ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.p2align	4
	.type	cfunc._ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb,@function
cfunc._ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb:
	.cfi_startproc
	subq	$168, %rsp
	.cfi_def_cfa_offset 176
	vmovups	216(%rsp), %xmm0
	vmovaps	240(%rsp), %xmm1
	movq	%rdi, %rdx
	movzbl	312(%rsp), %edi
	movq	256(%rsp), %rcx
	movq	288(%rsp), %rsi
	movq	184(%rsp), %rax
	movq	$0, 160(%rsp)
	andl	$1, %edi
	movq	%rsi, 128(%rsp)
	movq	%rcx, 96(%rsp)
	movl	%edi, 152(%rsp)
	leaq	160(%rsp), %rdi
	vmovups	%xmm1, 80(%rsp)
	vmovups	%xmm0, 56(%rsp)
	movq	%rax, 24(%rsp)
	movabsq	$_ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, %rax
	movq	%r9, 8(%rsp)
	movq	%r8, (%rsp)
	callq	*%rax
	movq	160(%rsp), %rax
	addq	$168, %rsp
	.cfi_def_cfa_offset 8
	retq
.Lfunc_end2:
	.size	cfunc._ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb, .Lfunc_end2-cfunc._ZN7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb
	.cfi_endproc

	.weak	NRT_incref
	.p2align	4
	.type	NRT_incref,@function
NRT_incref:
	testq	%rdi, %rdi
	je	.LBB3_2
	lock		incq	(%rdi)
.LBB3_2:
	retq
.Lfunc_end3:
	.size	NRT_incref, .Lfunc_end3-NRT_incref

	.weak	NRT_decref
	.p2align	4
	.type	NRT_decref,@function
NRT_decref:
	.cfi_startproc
	testq	%rdi, %rdi
	je	.LBB4_2
	#MEMBARRIER
	lock		decq	(%rdi)
	je	.LBB4_3
.LBB4_2:
	retq
.LBB4_3:
	movabsq	$NRT_MemInfo_call_dtor, %rax
	#MEMBARRIER
	jmpq	*%rax
.Lfunc_end4:
	.size	NRT_decref, .Lfunc_end4-NRT_decref
	.cfi_endproc

	.type	.const._row_values,@object
	.section	.lrodata,"al",@progbits
.const._row_values:
	.asciz	"_row_values"
	.size	.const._row_values, 12

	.type	_ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb,@object
	.comm	_ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb,8,8
	.type	".const.missing Environment: _ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb",@object
	.p2align	4, 0x0
".const.missing Environment: _ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb":
	.asciz	"missing Environment: _ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb"
	.size	".const.missing Environment: _ZN08NumbaEnv7qformat7kernels7bitpack11_row_valuesB3v19B56c8tJTIeFIjxB2IKSgI4CrvSCKg1MMbCQQPKkLTj8gMFYBFOOlH7AIpoAE5ArrayIhLi1E1C8readonly7alignedE5ArrayIfLi1E1C7mutable7alignedExx5ArrayIfLi1E1C8readonly7alignedEb", 235

	.type	".const.can't unbox array from PyObject into native value.  The object maybe of a different type",@object
	.p2align	4, 0x0
".const.can't unbox array from PyObject into native value.  The object maybe of a different type":
	.asciz	"can't unbox array from PyObject into native value.  The object maybe of a different type"
	.size	".const.can't unbox array from PyObject into native value.  The object maybe of a different type", 89

	.section	".note.GNU-stack","",@progbits
